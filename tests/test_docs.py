"""The API reference (``make docs``) and the docstrings' examples.

The reference is built here with warnings as errors, so a malformed docstring or a broken
cross-reference fails ``make test`` (and CI). Every public function, class, method and
property of :mod:`evalkit.survey`, :mod:`evalkit.sampling` and the documented part of
:mod:`evalkit.assessment` must have a docstring and appear in the built HTML; every example
(``>>>``) in those packages runs as a doctest.

A class's examples read as one page, as R's help pages and numpydoc class pages do: the
class docstring's example holds the setup (data, design, fitted model), and the example of
each of its methods and properties continues from it. The runner runs the class example
first, then each member's example in a fresh copy of the names the class example left (so
members do not see each other's names or changes). A member still shows its own example,
reduced to what it shows (``>>> fit.conf_int().round(3)``). Module-level functions have no
such page: each of their examples is whole, to be copied as it stands.
"""

from __future__ import annotations

import contextlib
import copy
import doctest
import importlib
import inspect
import io
import pkgutil
import re
import shutil
import warnings as warnings_module
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCS_SOURCE = REPO / "docs" / "reference"
PACKAGES = ("evalkit.survey", "evalkit.sampling", "evalkit.assessment")


def package_modules(package: str) -> list[str]:
    found = importlib.import_module(package)
    return [f"{package}.{info.name}" for info in pkgutil.iter_modules(found.__path__)
            if not info.name.startswith("_")]


# A script, stylesheet, font or image fetched from another host (an <a href> is only a link).
EXTERNAL_LOAD = re.compile(r"""(?:\bsrc\s*=\s*|<link\b[^>]*\bhref\s*=\s*|@import\s+(?:url\()?|"""
                           r"""url\()\s*["']?(?:https?:)?//""", re.I)
MODULES = [module for package in PACKAGES for module in package_modules(package)]


def defined_here(module) -> list[str]:
    """The public functions and classes a module defines (not those it imports)."""
    names = getattr(module, "__all__", None) or [
        name for name in vars(module) if not name.startswith("_")]
    return [name for name in names
            if (inspect.isfunction(getattr(module, name, None))
                or inspect.isclass(getattr(module, name, None)))
            and getattr(module, name).__module__ == module.__name__]


def members(cls: type) -> list[str]:
    """A class's own public methods and properties (dataclass fields are its attributes)."""
    return [name for name, value in vars(cls).items()
            if not name.startswith("_")
            and (inspect.isfunction(value) or isinstance(value, property | classmethod
                                                             | staticmethod))]


def public_names() -> list[tuple[str, object]]:
    """(full dotted name, object) of every name the reference must document.

    All of ``evalkit.survey`` and ``evalkit.sampling``; of ``evalkit.assessment``, the names
    the package exports (its library part: inputs and the design). Constants are described
    in their module's docstring and are not counted.
    """
    assessment = importlib.import_module("evalkit.assessment")
    exported = {(getattr(assessment, name).__module__, name) for name in assessment.__all__
                if inspect.isfunction(getattr(assessment, name))
                or inspect.isclass(getattr(assessment, name))}
    found: list[tuple[str, object]] = []
    for dotted in MODULES:
        module = importlib.import_module(dotted)
        for name in defined_here(module):
            if dotted.startswith("evalkit.assessment") and (dotted, name) not in exported:
                continue
            value = getattr(module, name)
            found.append((f"{dotted}.{name}", value))
            if inspect.isclass(value):
                found += [(f"{dotted}.{name}.{member}", getattr(value, member))
                          for member in members(value)]
    return found


def docstring_of(value: object) -> str:
    if isinstance(value, property):
        return inspect.getdoc(value.fget) or ""
    if inspect.isclass(value) and (value.__doc__ or "").startswith(f"{value.__name__}("):
        return ""  # the signature dataclasses write when a class has no docstring
    return inspect.getdoc(value) or ""


def test_every_public_name_has_a_docstring() -> None:
    missing = [name for name, value in public_names() if not docstring_of(value).strip()]
    assert not missing, f"{len(missing)} public names without a docstring: {missing}"


def test_every_public_name_has_an_example() -> None:
    """Every public function, class, method and property shows a runnable example (the
    examples run below as doctests)."""
    bare = [name for name, value in public_names() if ">>>" not in docstring_of(value)]
    assert not bare, f"{len(bare)} public names without an example: {bare}"


def test_the_public_api_is_large_enough_to_mean_something() -> None:
    """Guards the census itself: a broken name filter must not make the checks vacuous."""
    names = {name for name, _ in public_names()}
    assert len(names) > 150
    for expected in ("evalkit.survey.design.SurveyDesign.mean",
                     "evalkit.survey.design.SurveyDesign.summary",
                     "evalkit.sampling.frame.require_columns",
                     "evalkit.sampling.draw.draw_households",
                     "evalkit.assessment.inputs.build_design"):
        assert expected in names


@pytest.fixture(scope="module")
def built_reference(tmp_path_factory) -> Path:
    """``make docs`` into a temporary folder (sources copied: autosummary writes beside them)."""
    from sphinx.cmd.build import build_main

    work = tmp_path_factory.mktemp("docs")
    source = work / "source"
    shutil.copytree(DOCS_SOURCE, source, ignore=shutil.ignore_patterns("generated"))
    html = work / "html"
    warnings = io.StringIO()
    with contextlib.redirect_stderr(warnings), warnings_module.catch_warnings():
        # Sphinx's own deprecation notices (napoleon under Sphinx 9), not the reference's.
        warnings_module.simplefilter("ignore", DeprecationWarning)
        warnings_module.simplefilter("ignore", PendingDeprecationWarning)
        status = build_main(["-b", "html", "-W", "--keep-going", "-q",
                             "-d", str(work / "doctrees"), str(source), str(html)])
    assert status == 0, f"the reference has warnings (errors with -W):\n{warnings.getvalue()}"
    return html


def test_every_public_name_appears_in_the_reference(built_reference: Path) -> None:
    anchors: set[str] = set()
    for page in built_reference.rglob("*.html"):
        anchors |= set(re.findall(r'<dt class="sig[^"]*" id="([^"]+)"', page.read_text()))
    absent = [name for name, _ in public_names() if name not in anchors]
    assert not absent, f"{len(absent)} public names missing from the reference: {absent}"


def test_the_reference_loads_nothing_from_the_network(built_reference: Path) -> None:
    """Opens offline: no script, stylesheet, font or image from another host (links are fine)."""
    pages = list(built_reference.rglob("*.html")) + list(built_reference.rglob("*.css")) \
        + list(built_reference.rglob("*.js"))
    assert len(pages) > 30
    loading = [str(page.relative_to(built_reference)) for page in pages
               if EXTERNAL_LOAD.search(page.read_text(errors="replace"))]
    assert not loading, f"pages that load from the network: {loading}"
    assert not any("mathjax" in page.read_text(errors="replace").lower()
                   for page in built_reference.rglob("*.html"))


def test_the_network_check_would_see_a_cdn(tmp_path: Path) -> None:
    """The pattern above is not vacuous: MathJax from a CDN, as Sphinx adds it, is caught."""
    assert EXTERNAL_LOAD.search('<script defer="defer" src="https://cdn.jsdelivr.net/npm/'
                           'mathjax@3/es5/tex-mml-chtml.js"></script>')
    assert EXTERNAL_LOAD.search('<link rel="stylesheet" href="//fonts.googleapis.com/css" />')
    assert not EXTERNAL_LOAD.search('<a href="https://example.org">x</a>')


def fresh_copy(names: dict[str, object]) -> dict[str, object]:
    """A copy of a namespace in which each value is deep-copied where it can be (a random
    generator, a frame or a fitted model), else shared (a module, a function)."""
    copied: dict[str, object] = {}
    for name, value in names.items():
        try:
            copied[name] = value if inspect.ismodule(value) else copy.deepcopy(value)
        except Exception:  # not copyable: shared, as a module's own names are
            copied[name] = value
    return copied


def run_examples(module, dotted: str) -> tuple[doctest.DocTestRunner, str]:
    """Run the module's examples; a class member's in the names its class example left.

    The class example runs first (doctest's usual fresh copy of the module's globals); each
    of its methods' and properties' examples then runs in :func:`fresh_copy` of the globals
    it left. A class without an example leaves its members as doctest runs them: alone.
    """
    runner = doctest.DocTestRunner(
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    report = io.StringIO()
    tests = doctest.DocTestFinder(exclude_empty=True).find(module, dotted)
    classes = {test.name for test in tests if inspect.isclass(_object_named(module, dotted,
                                                                            test.name))}
    left: dict[str, dict[str, object]] = {}
    for test in tests:  # sorted by name: a class's example before its members'
        owner = test.name.rsplit(".", 1)[0]
        if owner in left:
            test.globs = fresh_copy(left[owner])
        runner.run(test, out=report.write, clear_globs=test.name not in classes)
        if test.name in classes:
            left[test.name] = test.globs
    return runner, report.getvalue()


def _object_named(module, dotted: str, name: str) -> object:
    """The object a doctest's name (``module.Class.member``) refers to."""
    found: object = module
    for part in name[len(dotted):].split(".")[1:]:
        found = inspect.getattr_static(found, part, None)
    return found


@pytest.mark.parametrize("dotted", MODULES)
def test_docstring_examples_run(dotted: str) -> None:
    """Every ``>>>`` example of the module runs and prints what it shows (doctest); a class
    member's example runs in the names its class's example left (the module docstring)."""
    module = importlib.import_module(dotted)
    runner, report = run_examples(module, dotted)
    assert runner.failures == 0, report


def test_member_examples_continue_from_the_class_example() -> None:
    """The runner gives a member the class example's names, a fresh copy each time: a
    member that changes them does not change what the next member sees, and a function
    outside the class does not see them at all."""
    import types

    page = '''
class Page:
    """
    >>> items = [1, 2]
    """

    def first(self):
        """
        >>> items.append(3); items
        [1, 2, 3]
        """

    def second(self):
        """
        >>> items
        SECOND
        """


def alone():
    """
    >>> items
    Traceback (most recent call last):
    NameError: name 'items' is not defined
    """
'''

    def run(second_shows: str) -> doctest.DocTestRunner:
        module = types.ModuleType("page")
        exec(compile(page.replace("SECOND", second_shows), "page", "exec"), module.__dict__)
        return run_examples(module, "page")[0]

    isolated = run("[1, 2]")
    assert (isolated.tries, isolated.failures) == (4, 0)
    assert run("[1, 2, 3]").failures == 1  # what a shared (not copied) namespace would show
