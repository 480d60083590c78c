"""The province page on a phone, measured in headless Chromium as rendered.

At 390 px the page must not scroll sideways, the forest plots' county labels must be at
least 11 px after the SVG is scaled to the screen, and the county table must reflow (one
card per county) with nothing cut off. The page is measured by a script added to a copy of
it (the page itself has none); Chromium writes the DOM with the measurements back.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_browser import CHROMIUM, OFFLINE_FLAGS
from test_province import county_indicator_rows

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium")

# Headless Chromium lays a window out at least 500 px wide, so the page is measured in a
# same-origin frame (srcdoc) of exactly the width asked for.
MEASURE = """<script>
window.addEventListener('load', function () {
  var frame = document.getElementById('page'), win = frame.contentWindow,
      doc = win.document, width = win.innerWidth,
      out = {width: width, scroll: doc.documentElement.scrollWidth, labels: [],
             hidden_wide: true, cut: []};
  doc.querySelectorAll('svg.ek-forest').forEach(function (svg) {
    var shown = svg.getBoundingClientRect().width > 0;
    if (!svg.classList.contains('ek-forest-narrow')) {
      if (shown) { out.hidden_wide = false; }
      return;
    }
    if (!shown) { return; }
    var scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
    svg.querySelectorAll('g > text').forEach(function (t) {
      out.labels.push(parseFloat(t.getAttribute('font-size')) * scale);
    });
  });
  doc.querySelectorAll('td').forEach(function (td) {
    var r = td.getBoundingClientRect();
    if (r.width > 0 && (r.right > width + 0.5 || td.scrollWidth > td.clientWidth + 1)) {
      out.cut.push(td.textContent.slice(0, 40));
    }
  });
  doc.querySelectorAll('.table-wrap').forEach(function (wrap) {
    if (wrap.scrollWidth > wrap.clientWidth + 1) {  // clipped inside its own box
      out.cut.push('table-wrap: ' + wrap.scrollWidth + ' > ' + wrap.clientWidth);
    }
  });
  var pre = document.createElement('pre');
  pre.id = 'measured';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>"""


def measure(tmp_path: Path, page: str, width: int) -> dict:
    import html
    import subprocess

    path = tmp_path / f"province-{width}.html"
    path.write_text(
        '<!DOCTYPE html><html><body style="margin:0">'
        f'<iframe id="page" style="width:{width}px;height:900px;border:0" '
        f'srcdoc="{html.escape(page, quote=True)}"></iframe>{MEASURE}</body></html>',
        encoding="utf-8")
    profile = tmp_path / "profile"
    profile.mkdir(exist_ok=True)
    done = subprocess.run(
        [str(CHROMIUM), *OFFLINE_FLAGS, f"--user-data-dir={profile}",
         f"--window-size={max(width, 500) + 40},1000", "--dump-dom", path.as_uri()],
        capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    found = re.search(r'<pre id="measured">(.*?)</pre>', done.stdout, re.S)
    assert found, done.stdout[-500:]
    measured = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    assert measured["width"] == width
    return measured


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_province_page_on_a_phone(tmp_path, lang):
    from evalkit.report.province import province_page, ranking_table
    from evalkit.run.province import CountyStatus

    counties = [f"某某县第{k}号示范县" if lang == "zh" else f"County number {k:02d} west"
                for k in range(1, 13)]
    rows = county_indicator_rows(np.random.default_rng(11), counties,
                                 ("wrong_exit", "missed", "incidence"), low=0.005,
                                 high=0.04, se=0.004, fail_above=0.03)
    rows += county_indicator_rows(np.random.default_rng(12), counties, ("recognition",),
                                  low=0.85, high=0.97, se=0.01, fail_above=2.0)
    indicators = pd.DataFrame(rows).assign(official_decision="fail")
    ranking = ranking_table(indicators)
    statuses = [CountyStatus(c, "done") for c in counties]
    statuses.append(CountyStatus("坏县" if lang == "zh" else "Broken county", "failed",
                                 error="survey.csv, row 1, column household_size: expected "
                                       "a column named household_size"))
    page = province_page(name="某省", lang=lang, level=0.95,
                         thresholds={"wrong_exit": 0.02, "missed": 0.02, "incidence": 0.02,
                                     "recognition": 0.9},
                         statuses=statuses, indicators=indicators, ranking=ranking,
                         rates=None, tables=["tables/province_ranking.csv"],
                         county_links=True, technical_href=None)
    phone = measure(tmp_path, page, 390)
    assert phone["scroll"] <= phone["width"], phone  # no sideways scrolling
    assert phone["hidden_wide"], "the wide forest plots should give way to the narrow ones"
    assert len(phone["labels"]) >= 4 * 12
    assert min(phone["labels"]) >= 11.0, min(phone["labels"])
    assert phone["cut"] == [], phone["cut"][:3]
    desk = measure(tmp_path, page, 1000)
    assert desk["scroll"] <= desk["width"]
    assert not desk["labels"]  # the narrow plots are for phones only
