"""Render executed notebooks to self-contained HTML that opens offline.

nbconvert's stock HTML template loads require.js, MathJax and mermaid from a CDN; the
``evalkit_html`` template under ``templates/`` drops them, CSS is inlined and images are
embedded as base64 ``data:`` URIs. :func:`external_references` finds anything an HTML page
would still fetch from the network; the runner refuses to publish a report that has any.
"""

from __future__ import annotations

import html
import re
import threading
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import nbformat

from evalkit.contract.paths import RESOURCES_DIR
from evalkit.report import i18n

TEMPLATES_DIR = RESOURCES_DIR / "templates"
TEMPLATE_NAME = "evalkit_html"

# Cells with these tags are left out of every report (papermill's own tag included for the
# policy report, where parameters are noise).
REMOVE_CELL_TAGS = ("remove_cell", "remove-cell")
REMOVE_INPUT_TAGS = ("remove_input", "remove-input", "hide-input", "hide_input")
POLICY_REMOVE_CELL_TAGS = ("parameters", "injected-parameters")

# Attributes through which a browser fetches a resource when the page opens. <a href> is a
# link the reader may follow, not a fetch, so it is allowed.
_FETCHING_ATTRS: dict[str, tuple[str, ...]] = {
    "script": ("src",),
    "link": ("href",),
    "img": ("src", "srcset"),
    "iframe": ("src",),
    "frame": ("src",),
    "embed": ("src",),
    "object": ("data",),
    "source": ("src", "srcset"),
    "video": ("src", "poster"),
    "audio": ("src",),
    "track": ("src",),
    "input": ("src",),
    "image": ("href", "xlink:href"),
    "use": ("href", "xlink:href"),
    "feimage": ("href", "xlink:href"),
}
_REMOTE = re.compile(r"^\s*(?:https?:)?//", re.IGNORECASE)
_CSS_URL = re.compile(r"""(?:url\(\s*['"]?|@import\s+['"])\s*((?:https?:)?//[^'")\s]+)""", re.I)


@dataclass(frozen=True)
class ExternalReference:
    """One place where an HTML page would fetch from the network."""

    tag: str
    attribute: str
    url: str

    def __str__(self) -> str:
        return f"<{self.tag} {self.attribute}={self.url!r}>"


class _FetchFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[ExternalReference] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        tag = tag.lower()
        self._in_style = tag == "style"
        watched = _FETCHING_ATTRS.get(tag, ())
        for name, value in attrs:
            if value is None:
                continue
            name = name.lower()
            if name in watched:
                urls = [part.split()[0] for part in value.split(",") if part.strip()] \
                    if name == "srcset" else [value]
                self.found += [ExternalReference(tag, name, u) for u in urls if _REMOTE.match(u)]
            elif name == "style":
                self.found += [ExternalReference(tag, "style", u) for u in _CSS_URL.findall(value)]

    def handle_endtag(self, tag: str) -> None:
        if tag.lower() == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            # CSS comments may hold URLs (the lab theme credits its sources); they fetch nothing.
            css = re.sub(r"/\*.*?\*/", "", data, flags=re.S)
            self.found += [ExternalReference("style", "url", u) for u in _CSS_URL.findall(css)]


def external_references(page: str) -> list[ExternalReference]:
    """Everything in ``page`` that a browser would fetch from another host when opening it."""
    finder = _FetchFinder()
    finder.feed(page)
    finder.close()
    return finder.found


_EXPORTERS = threading.local()


def _exporter(hide_code: bool, lang: str) -> Any:
    """An HTMLExporter per thread and setting: its compiled templates are reused."""
    cache = _EXPORTERS.__dict__.setdefault("by_key", {})
    key = (hide_code, lang)
    if key not in cache:
        cache[key] = _new_exporter(hide_code, lang)
    return cache[key]


def _new_exporter(hide_code: bool, lang: str) -> Any:
    from nbconvert import HTMLExporter
    from traitlets.config import Config

    config = Config()
    remove_cells = set(REMOVE_CELL_TAGS) | (set(POLICY_REMOVE_CELL_TAGS) if hide_code else set())
    config.TagRemovePreprocessor.enabled = True
    config.TagRemovePreprocessor.remove_cell_tags = remove_cells
    config.TagRemovePreprocessor.remove_input_tags = set(REMOVE_INPUT_TAGS)
    exporter = HTMLExporter(
        config=config,
        template_name=TEMPLATE_NAME,
        extra_template_basedirs=[str(TEMPLATES_DIR)],
        embed_images=True,
        exclude_input=hide_code,
        exclude_input_prompt=hide_code,
        exclude_output_prompt=hide_code,
        language_code="zh" if lang == "zh" else "en",
    )
    # No URLs even if some future template used them again.
    exporter.require_js_url = ""
    exporter.mathjax_url = ""
    return exporter


def render_notebook(
    notebook: nbformat.NotebookNode | Path,
    dest: Path,
    *,
    hide_code: bool = False,
    lang: str = "en",
    title: str | None = None,
) -> Path:
    """Write ``notebook`` as one offline HTML file at ``dest``.

    ``hide_code`` drops every code input and prompt (the policy report); technical reports
    keep the code so an analyst can follow each number back to its computation.
    """
    if isinstance(notebook, Path):
        notebook = nbformat.read(notebook, as_version=4)
    notebook = nbformat.from_dict(notebook)  # a copy: the exporter edits metadata
    tags = [set(cell.get("metadata", {}).get("tags", [])) for cell in notebook.cells]
    if any("injected-parameters" in t for t in tags):
        # The defaults were overridden by the run's values: show only the values used.
        notebook.cells = [c for c, t in zip(notebook.cells, tags, strict=True)
                          if "parameters" not in t]
    name = Path(dest).stem
    notebook.metadata["title"] = title or notebook_title(notebook) or name
    body, _ = _exporter(hide_code, lang).from_notebook_node(
        notebook, resources={"metadata": {"name": name}}
    )
    if hide_code:
        body = embed_font(body)
    dest.write_text(body, encoding="utf-8")
    return dest


def embed_font(page: str) -> str:
    """``page`` with the shipped font, cut to its characters, embedded as WOFF2.

    For the policy page: its text renders in the same font on every machine and in print
    (:mod:`evalkit.report.webfont`), whatever fonts the reader's system has.
    """
    from evalkit.report.fonts import FAMILY
    from evalkit.report.webfont import font_face_css

    style = (f"<style>{font_face_css(page)}\n"
             f'body.jp-Notebook {{ font-family: "{FAMILY}", sans-serif; '
             "font-synthesis: none; }</style>\n")
    return page.replace("</head>", style + "</head>", 1)


def notebook_title(notebook: nbformat.NotebookNode) -> str | None:
    """The first markdown heading of ``notebook``, without the leading '#'."""
    for cell in notebook.cells:
        if cell.cell_type != "markdown":
            continue
        for line in cell.source.splitlines():
            if line.lstrip().startswith("#"):
                return line.lstrip().lstrip("#").strip() or None
    return None


_H1 = re.compile(r"<h1[^>]*>(.*?)</h1>", re.S | re.I)


def output_title(notebook: nbformat.NotebookNode) -> str | None:
    """The first ``<h1>`` among ``notebook``'s HTML outputs (the policy page's heading)."""
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            page = output.get("data", {}).get("text/html")
            if page is None:
                continue
            match = _H1.search("".join(page) if isinstance(page, list) else str(page))
            if match:
                return html.unescape(re.sub(r"<[^>]+>", "", match.group(1))).strip() or None
    return None


@dataclass(frozen=True)
class IndexEntry:
    """One report listed on the run's index page."""

    href: str
    title: str
    policy: bool


def write_index(
    dest: Path,
    *,
    run_name: str,
    reports: list[IndexEntry],
    tables: list[str],
    lang: str = "en",
    commit: str = "unknown",
    params_href: str | None = None,
) -> Path:
    """Write the run's ``index.html``: links to every report, table and the manifest.

    Its words are the ``index.*`` entries of the locale catalogues. A technical notebook's
    link says what it is (``index.notebook.<name>``; the notebooks keep their English code
    and headings, so in Chinese this is the only Chinese name they have), else the
    notebook's own title.
    """
    lang = i18n.check_lang(lang)
    text = {key.removeprefix("index."): value for key, value in i18n.catalog(lang).items()
            if key.startswith("index.")}
    esc = html.escape

    def title(entry: IndexEntry) -> str:
        return entry.title if entry.policy else text.get(
            f"notebook.{Path(entry.href).stem}", entry.title)

    items = "\n".join(
        f'    <li><a href="{esc(r.href)}">{esc(title(r))}</a> '
        f'<span class="kind">({text["policy"] if r.policy else text["technical"]})</span></li>'
        for r in sorted(reports, key=lambda r: (not r.policy, r.href))
    )
    table_items = "\n".join(f'    <li><a href="{esc(t)}">{esc(t)}</a></li>' for t in tables)
    if not table_items:
        table_items = f"    <li>{text['none']}</li>"
    params_item = (
        f'    <li><a href="{esc(params_href)}">{text["params"]}</a></li>\n' if params_href else ""
    )
    page = f"""<!DOCTYPE html>
<html lang="{'zh' if lang == 'zh' else 'en'}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>{esc(text['title'])}: {esc(run_name)}</title>
<style>
body {{ font-family: system-ui, -apple-system, "Segoe UI", "Noto Sans CJK SC", "PingFang SC",
  "Microsoft YaHei", sans-serif; max-width: 48rem; margin: 2rem auto; padding: 0 1rem;
  line-height: 1.5; color: #222; }}
h1 {{ font-size: 1.6rem; }} .kind {{ color: #666; font-size: 0.9em; }}
code {{ background: #f3f3f3; padding: 0 0.2em; }}
</style>
</head>
<body>
<h1>{esc(text['title'])}: {esc(run_name)}</h1>
<h2>{text['reports']}</h2>
<ul>
{items}
</ul>
<h2>{text['tables']}</h2>
<ul>
{table_items}
</ul>
<h2>{text['provenance']}</h2>
<ul>
    <li><a href="manifest.json">{text['manifest']}</a></li>
{params_item}    <li>{text['commit']}: <code>{esc(commit)}</code></li>
</ul>
</body>
</html>
"""
    dest.write_text(page, encoding="utf-8")
    return dest
