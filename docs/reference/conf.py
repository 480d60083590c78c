"""Sphinx configuration of evalkit's API reference (``make docs``: build/docs/html/).

Why Sphinx with autodoc and napoleon: the docstrings are numpydoc-style so that ``help()``
reads well in a terminal, and napoleon renders exactly that style without asking authors to
write reST field lists; autodoc imports the installed package, so the reference documents
the code that runs (signatures, type hints) and nothing that only the docs believe;
``-W`` turns every broken cross-reference or malformed docstring into a build failure, which
``make test`` (and so CI) relies on. pdoc would be lighter but has no warnings-as-errors
mode and no hand-written pages beside the API (the R/Stata users page).

Offline: no extension that loads anything from the network. Sphinx would load MathJax from a
CDN for any ``:math:`` role, so math is rendered as plain text by the ``plain`` renderer
registered below (formulas in the docstrings are written in plain text for ``help()`` too),
and the theme is alabaster, whose CSS and fonts are local. ``tests/test_docs.py`` checks the
built HTML for any external script, style, font or image.
"""

from __future__ import annotations

import evalkit

project = "evalkit"
author = "evalkit authors"
copyright = "evalkit authors"  # noqa: A001 (Sphinx's own name for it)
version = release = evalkit.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
]

templates_path = ["_templates"]
exclude_patterns = ["_build"]
# Generated module pages go to generated/ (git-ignored), rebuilt on every run.
autosummary_generate = True
autosummary_generate_overwrite = True
autodoc_default_options = {
    "members": True,
    "show-inheritance": True,
    # A module's __all__ may re-export names defined elsewhere (survey.design offers
    # Estimate); each name is documented once, in the module that defines it.
    "ignore-module-all": True,
}
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_preserve_defaults = True
# numpydoc style only; Google-style sections are not used in evalkit.
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False
napoleon_use_ivar = True
nitpicky = False

html_theme = "alabaster"
html_theme_options = {"font_family": "serif", "head_font_family": "serif",
                      "code_font_family": "monospace", "show_powered_by": False}
html_static_path: list[str] = []
html_last_updated_fmt = None
html_show_sourcelink = False
html_show_sphinx = False
html_copy_source = False
html_math_renderer = "plain"


def _visit_math(translator, node) -> None:
    translator.body.append(translator.starttag(node, "span", "", CLASS="math"))
    translator.body.append(translator.encode(node.astext()))
    translator.body.append("</span>")
    from docutils import nodes

    raise nodes.SkipNode


def _visit_displaymath(translator, node) -> None:
    translator.body.append(translator.starttag(node, "pre", "", CLASS="math"))
    translator.body.append(translator.encode(node.astext()))
    translator.body.append("</pre>")
    from docutils import nodes

    raise nodes.SkipNode


def setup(app) -> None:
    # Math as plain text: no MathJax, so no script from a CDN (the reference opens offline).
    app.add_html_math_renderer("plain", (_visit_math, None), (_visit_displaymath, None))
