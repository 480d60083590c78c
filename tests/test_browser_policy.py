"""The Chinese policy page as the run publishes it, opened in headless Chromium (network off).

The page is notebook 04's display outputs (:meth:`PolicyReport.show`) rendered by
:func:`evalkit.report.render.render_notebook` exactly as ``evalkit run`` renders it, from tables
shaped like the run's (tests/test_summary.py). Chromium is driven over its DevTools pipe
(``--remote-debugging-pipe``: no port, no network) to ask which font drew each node's glyphs
and whether anything is wider than a 390 px phone. Skips without /usr/bin/chromium.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import time
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import nbformat
import pytest
from test_browser import CHROMIUM, OFFLINE_FLAGS, chromium
from test_summary import write_tables

from evalkit.report import policy as report
from evalkit.report.fonts import FAMILY
from evalkit.report.render import render_notebook

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium")

RUN_NAME = "county-2019"
# Latin words allowed on the Chinese page: proper names (the software, the run's folder name).
ALLOWED_LATIN = {"evalkit", *re.findall(r"[A-Za-z]+", RUN_NAME)}


class _Cdp:
    """A minimal DevTools client over Chromium's pipe (fd 3 in, fd 4 out, NUL-framed JSON)."""

    def __init__(self, profile: Path) -> None:
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()

        def arrange() -> None:
            a, b = os.dup(to_child_r), os.dup(from_child_w)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.proc = subprocess.Popen(
            [str(CHROMIUM), *OFFLINE_FLAGS, "--remote-debugging-pipe",
             f"--user-data-dir={profile}", "about:blank"],
            close_fds=False, preexec_fn=arrange, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_child_r)
        os.close(from_child_w)
        self._buffer = b""
        self._next = 0
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.call("Target.attachToTarget",
                                 {"targetId": target, "flatten": True})["sessionId"]

    def call(self, method: str, params: dict[str, Any] | None = None,
             session: str | None = None) -> dict[str, Any]:
        self._next += 1
        message: dict[str, Any] = {"id": self._next, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_child, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            while b"\0" not in self._buffer:
                chunk = os.read(self._from_child, 1 << 16)
                assert chunk, "chromium closed its DevTools pipe"
                self._buffer += chunk
            raw, self._buffer = self._buffer.split(b"\0", 1)
            reply = json.loads(raw)
            if reply.get("id") == self._next:
                assert "error" not in reply, reply["error"]
                return reply["result"]
        raise AssertionError(f"no DevTools reply to {method}")

    def page(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.call(method, params, self.session)

    def evaluate(self, expression: str) -> Any:
        return self.page("Runtime.evaluate", {"expression": expression,
                                              "returnByValue": True})["result"]["value"]

    def open(self, url: str, width: int, height: int = 900) -> None:
        self.page("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 500})
        self.page("Page.enable")
        self.page("Page.navigate", {"url": url})
        for _ in range(200):
            if self.evaluate("document.readyState + ':' + document.fonts.status") == \
                    "complete:loaded":
                return
            time.sleep(0.05)
        raise AssertionError("the page did not finish loading")

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()
        os.close(self._to_child)
        os.close(self._from_child)


def _outputs(page: Any, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The display outputs notebook 04 produces for ``page`` (as Jupyter stores them)."""
    import IPython.display

    shown: list[Any] = []
    monkeypatch.setattr(IPython.display, "display", lambda obj: shown.append(obj))
    page.show()
    outputs = []
    for obj in shown:
        if type(obj).__name__ == "Image":
            png, meta = obj._repr_png_()
            if isinstance(png, bytes):
                png = base64.b64encode(png).decode()
            outputs.append(nbformat.v4.new_output(
                "display_data", data={"image/png": png},
                metadata={"image/png": meta}))
        else:
            outputs.append(nbformat.v4.new_output("display_data",
                                                  data={"text/html": obj.data}))
    return outputs


@pytest.fixture(scope="module")
def zh_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("policy")
    tables = write_tables(folder / "tables")
    page = report.report_from_tables(
        tables, lang="zh", level=0.95, ci_method="logit", run_name=RUN_NAME, households=2025,
        villages=29, county="示例县", period="2019年8月", assessor="第三方评估组")
    with pytest.MonkeyPatch.context() as mp:
        outputs = _outputs(page, mp)
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    cell = nbformat.v4.new_code_cell("page.show()")
    cell.outputs = outputs
    heading = nbformat.v4.new_markdown_cell("# Poverty-exit assessment (left out)")
    heading.metadata["tags"] = ["remove_cell"]
    nb.cells = [heading, cell]
    dest = folder / "04_summary.html"
    render_notebook(nb, dest, hide_code=True, lang="zh", title=page.title)
    return dest


class _Text(HTMLParser):
    """What a reader sees or hears: text outside style/script, the title, alt and aria text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("style", "script"):
            self._skip += 1
        self.parts += [v for k, v in attrs if k in ("alt", "aria-label", "title") and v]

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def test_zh_policy_page_has_no_stray_latin(zh_page: Path):
    reader = _Text()
    reader.feed(zh_page.read_text(encoding="utf-8"))
    text = " ".join(reader.parts)
    words = set(re.findall(r"[A-Za-z]+", text)) - ALLOWED_LATIN
    assert not words, f"Latin words on the Chinese page: {sorted(words)[:20]}"
    assert "<title>示例县贫困县退出评估：本县现状</title>" in zh_page.read_text(encoding="utf-8")


def test_zh_policy_page_prints_on_two_a4_pages(zh_page: Path, tmp_path: Path):
    pdf = tmp_path / "page.pdf"
    chromium(tmp_path, f"--print-to-pdf={pdf}", "--no-pdf-header-footer", zh_page.as_uri())
    data = pdf.read_bytes()
    pages = re.findall(rb"/Type\s*/Page(?![s\w])", data)
    assert 1 <= len(pages) <= 2, f"{len(pages)} A4 pages"
    boxes = re.findall(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", data)
    assert all(abs(float(w) - 595.3) < 2 and abs(float(h) - 841.9) < 2 for w, h in boxes)


def test_zh_policy_page_uses_only_its_embedded_font_and_fits_a_phone(zh_page: Path,
                                                                   tmp_path: Path):
    assert zh_page.stat().st_size < 1_000_000  # page weight budget, font and chart included
    cdp = _Cdp(tmp_path / "profile")
    try:
        cdp.open(zh_page.as_uri(), 390, 844)
        root = cdp.page("DOM.getDocument", {"depth": -1})["root"]["nodeId"]
        cdp.page("DOM.enable")
        cdp.page("CSS.enable")
        nodes = cdp.page("DOM.querySelectorAll", {"nodeId": root,
                                                  "selector": "body *"})["nodeIds"]
        families: dict[str, int] = {}
        for node in nodes:
            for font in cdp.page("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]:
                families[font["familyName"]] = (families.get(font["familyName"], 0)
                                                + font["glyphCount"])
        assert families and set(families) == {FAMILY}, families  # no fallback font
        # Nothing wider than the phone (tables scroll inside their own wrapper).
        wide = cdp.evaluate(
            "[...document.querySelectorAll('body *')].filter(e => !e.closest("
            "'.ek-table-wrap') && e.getBoundingClientRect().right > innerWidth + 1)"
            ".map(e => e.tagName + '.' + e.className).slice(0, 5)")
        assert wide == [], wide
        assert cdp.evaluate("document.documentElement.scrollWidth") <= 390
        # Chart text at least 11 px: the number lines' labels and the bar chart's image
        # (drawn at 11.5 pt and larger, 150 dpi, shown at its displayed width).
        smallest = cdp.evaluate(
            "Math.min(...[...document.querySelectorAll('svg.ek-line text')].map(t => "
            "parseFloat(getComputedStyle(t).fontSize) * "
            "t.ownerSVGElement.getBoundingClientRect().width / 300))")
        assert smallest >= 11, smallest
        chart = cdp.evaluate(
            "[...document.querySelectorAll('img')].map(i => i.getBoundingClientRect().width"
            " / i.naturalWidth)")
        assert chart and min(chart) * 11.5 * 150 / 72 >= 11, chart
        # One scale for the three rates compared side by side.
        ends = cdp.evaluate(
            "[...document.querySelectorAll('.ek-card')].map(c => [...c.querySelectorAll("
            "'svg.ek-line text')].slice(-1)[0].textContent)")
        assert len(set(ends[:3])) == 1, ends
    finally:
        cdp.close()
