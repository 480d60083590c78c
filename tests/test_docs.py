"""The API reference (``make docs``) and the docstrings' examples.

The reference is built here with warnings as errors, so a malformed docstring or a broken
cross-reference fails ``make test`` (and CI). Every public function, class, method and
property of :mod:`evalkit.survey`, :mod:`evalkit.sampling` and the documented part of
:mod:`evalkit.assessment` must have a docstring and appear in the built HTML; every example
(``>>>``) in those packages runs as a doctest.
"""

from __future__ import annotations

import contextlib
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


@pytest.mark.parametrize("dotted", MODULES)
def test_docstring_examples_run(dotted: str) -> None:
    """Every ``>>>`` example of the module runs and prints what it shows (doctest)."""
    module = importlib.import_module(dotted)
    runner = doctest.DocTestRunner(
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    report = io.StringIO()
    for test in doctest.DocTestFinder(exclude_empty=True).find(module, dotted):
        runner.run(test, out=report.write)
    assert runner.failures == 0, report.getvalue()
