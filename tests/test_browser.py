"""Open the rendered policy report in headless Chromium, network off, as a reader would.

Uses /usr/bin/chromium when present and skips otherwise (tests never install software;
Debian/Ubuntu: ``apt-get install -y chromium``). Screenshots at a phone width and an A4-ish
width must not be blank; printing must give A4 pages.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
from test_province import county_indicator_rows
from test_report import make_report, results  # noqa: F401  (results is a fixture)

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium")

# Network off: no background traffic, and every host name resolves to nothing, so a page
# that tried to fetch a script, font or image from the internet would fail to.
OFFLINE_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync",
    "--disable-default-apps", "--host-resolver-rules=MAP * ~NOTFOUND",
    "--proxy-server=127.0.0.1:9", "--hide-scrollbars",
)


def chromium(tmp_path: Path, *args: str) -> None:
    profile = tmp_path / "profile"
    profile.mkdir(exist_ok=True)
    completed = subprocess.run(
        [str(CHROMIUM), *OFFLINE_FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]


def screenshot(tmp_path: Path, page: Path, width: int, height: int) -> np.ndarray:
    import matplotlib.image

    png = tmp_path / f"{page.stem}-{width}.png"
    chromium(tmp_path, f"--screenshot={png}", f"--window-size={width},{height}",
             page.as_uri())
    pixels = matplotlib.image.imread(png)[..., :3]
    assert pixels.shape[:2] == (height, width)
    return pixels


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_report_renders_on_a_phone_and_an_a4_width(results, lang, tmp_path):  # noqa: F811
    page = tmp_path / f"report-{lang}.html"
    page.write_text(make_report(results, lang).html(), encoding="utf-8")
    for width, height in ((390, 844), (794, 1123)):
        pixels = screenshot(tmp_path, page, width, height)
        grey = pixels.mean(axis=2)
        assert grey.var() > 0.01, f"blank screenshot at {width}px"
        inked = (grey < 0.8).mean()
        assert inked > 0.02, f"almost nothing drawn at {width}px ({inked:.3f})"
        # Traffic-light colours are there (the cards), not only black text.
        colourful = (pixels.max(axis=2) - pixels.min(axis=2)) > 0.25
        assert colourful.mean() > 0.001


def test_report_prints_on_a4(results, tmp_path):  # noqa: F811
    page = tmp_path / "report-zh.html"
    page.write_text(make_report(results, "zh").html(), encoding="utf-8")
    pdf = tmp_path / "report.pdf"
    chromium(tmp_path, f"--print-to-pdf={pdf}", "--no-pdf-header-footer", page.as_uri())
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF")
    boxes = re.findall(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", data)
    assert boxes, "no pages"
    for w, h in boxes:  # A4 is 595.3 x 841.9 points
        assert abs(float(w) - 595.3) < 2 and abs(float(h) - 841.9) < 2
    assert 1 <= len(boxes) <= 4


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_province_page_forest_plots_draw_at_a_phone_width(lang, tmp_path):
    """The province page's forest plots are inline SVG: at a phone width they scale to the
    screen and their verdict colours are drawn (network off: the font is embedded)."""
    import pandas as pd

    from evalkit.report.province import province_page, ranking_table
    from evalkit.run.province import CountyStatus

    indicators = pd.DataFrame(county_indicator_rows(
        np.random.default_rng(8), [f"县{k}" for k in range(1, 13)], ("wrong_exit", "missed"),
        low=0.005, high=0.06, se=0.004, fail_above=0.03))
    html = province_page(name="测试", lang=lang, level=0.95,
                         thresholds={"wrong_exit": 0.02, "missed": 0.02},
                         statuses=[CountyStatus(f"县{k}", "done") for k in range(1, 13)],
                         indicators=indicators, ranking=ranking_table(indicators, seed=1),
                         rates=None, tables=[], county_links=False, technical_href=None)
    # Only the forest plots: the page's long tables would push them below the screenshot.
    head, body = html.split("<body>")
    figures = re.findall(r"<figure>.*?</figure>", body, re.S)
    page = tmp_path / f"forest-{lang}.html"
    page.write_text(head + "<body>" + "".join(figures) + "</body></html>", encoding="utf-8")
    pixels = screenshot(tmp_path, page, 390, 1400)
    red = (pixels[..., 0] > 0.55) & (pixels[..., 1] < 0.3) & (pixels[..., 2] < 0.3)
    green = (pixels[..., 1] > 0.4) & (pixels[..., 0] < 0.25) & (pixels[..., 2] < 0.35)
    assert red.mean() > 0.0005 and green.mean() > 0.0005
    # scaled to the screen: drawing reaches the right half but not past the edge
    inked = pixels.mean(axis=2) < 0.8
    columns = np.flatnonzero(inked.any(axis=0))
    assert columns.size and columns.max() > 390 * 0.6 and columns.max() < 390
