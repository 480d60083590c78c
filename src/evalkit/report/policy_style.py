"""The policy page's style sheet (screen, phone and A4 print).
"""

from __future__ import annotations

# --------------------------------------------------------------------------------------
# the report
# --------------------------------------------------------------------------------------
CSS = """
.ek-report { font-family: "Evalkit Sans SC", system-ui, -apple-system, "Segoe UI",
  "Noto Sans CJK SC", "Noto Sans SC", "PingFang SC", "Microsoft YaHei", sans-serif;
  font-synthesis: none; color: #1f2328; line-height: 1.55;
  max-width: 60rem; margin: 0 auto; font-size: 1rem; text-align: left; }
.ek-report * { box-sizing: border-box; }
.ek-report h1 { font-size: 1.7rem; font-weight: 700; line-height: 1.25;
  margin: 0.2rem 0 0.6rem; }
.ek-report h2 { font-size: 1.3rem; font-weight: 700; line-height: 1.3;
  margin: 1.6rem 0 0.5rem; padding-bottom: 0.2rem; border-bottom: 2px solid #d0d7de; }
.ek-report p { margin: 0.4rem 0; }
.ek-report .ek-muted { color: #57606a; font-size: 0.92rem; }
.ek-report .ek-chips { display: flex; flex-wrap: wrap; gap: 0.5rem; margin: 0.6rem 0; }
.ek-report .ek-chip { border-radius: 1rem; padding: 0.15rem 0.75rem; font-weight: 600;
  border: 1px solid currentColor; white-space: nowrap; }
.ek-report .ek-decision { border: 1px solid #d0d7de; border-left-width: 0.45rem;
  border-radius: 0.5rem; padding: 0.5rem 0.9rem; margin: 0.6rem 0 0.8rem; background: #fff; }
.ek-report h2.ek-decision-title { font-size: 1.15rem; border: none; margin: 0 0 0.2rem;
  padding: 0; }
.ek-report .ek-decision-lead { font-size: 1.08rem; font-weight: 600; }
.ek-report ul.ek-decision-items { padding-left: 1.2rem; margin: 0.3rem 0 0; }
.ek-report ul.ek-decision-items li { margin: 0.25rem 0; }
.ek-report .ek-chips-title { color: #57606a; font-size: 0.92rem; align-self: center; }
.ek-report .ek-cards { display: flex; flex-wrap: wrap; gap: 0.8rem; }
.ek-report .ek-card { flex: 1 1 18rem; max-width: 100%; background: #fff;
  border: 1px solid #d0d7de; border-left-width: 0.45rem; border-radius: 0.5rem;
  padding: 0.7rem 0.9rem; }
.ek-report .ek-card-head { display: flex; flex-wrap: wrap; justify-content: space-between;
  align-items: baseline; gap: 0.4rem; }
.ek-report .ek-card-name { font-weight: 700; font-size: 1.08rem; }
.ek-report .ek-badges { display: flex; flex-wrap: wrap; gap: 0.3rem; }
.ek-report .ek-badge { color: #fff; border-radius: 1rem; padding: 0.05rem 0.65rem;
  font-size: 0.85rem; font-weight: 600; white-space: nowrap; }
.ek-report .ek-figures { display: flex; flex-wrap: wrap; gap: 0.3rem 1.4rem;
  margin: 0.35rem 0 0.1rem; align-items: flex-end; }
.ek-report .ek-figure-label { display: block; font-size: 0.8rem; color: #57606a; }
.ek-report .ek-big { font-size: 2rem; font-weight: 700; line-height: 1.1;
  font-variant-numeric: tabular-nums; }
.ek-report .ek-mid { font-size: 1.15rem; font-weight: 600;
  font-variant-numeric: tabular-nums; }
.ek-report .ek-line { display: block; width: 100%; height: auto; max-height: 5.4rem;
  margin: 0.3rem 0; }
.ek-report .ek-sentence { font-size: 0.98rem; }
.ek-report .ek-meta { display: flex; flex-wrap: wrap; gap: 0.2rem 1rem; font-size: 0.85rem;
  color: #57606a; }
.ek-report .ek-what { font-size: 0.82rem; color: #57606a; margin-top: 0.3rem; }
.ek-report .ek-decides { font-size: 0.92rem; color: #1f2328; background: #f6f8fa;
  border-radius: 0.3rem; padding: 0.3rem 0.5rem; }
.ek-report .ek-table-wrap { overflow-x: auto; -webkit-overflow-scrolling: touch; }
.ek-report table.ek-table { border-collapse: collapse; width: 100%; font-size: 0.9rem;
  margin: 0.4rem 0; table-layout: auto; }
.ek-report table.ek-table th, .ek-report table.ek-table td { text-align: left;
  padding: 0.35rem 0.5rem; border: none; border-bottom: 1px solid #d0d7de;
  vertical-align: top; background: transparent; }
.ek-report table.ek-table th { background: #f6f8fa; font-weight: 600; }
.ek-report table.ek-table th { white-space: normal; vertical-align: bottom; }
.ek-report table.ek-table td.ek-num, .ek-report table.ek-table th.ek-num {
  text-align: right; font-variant-numeric: tabular-nums; }
.ek-report table.ek-table td.ek-num { white-space: nowrap; }
.ek-report table.ek-table .ek-sub { display: block; font-size: 0.82em; color: #57606a; }
.ek-report table.ek-table td.ek-status { font-weight: 600; white-space: nowrap; }
.ek-report table.ek-table td.ek-wide { min-width: 8rem; }
.ek-report .ek-chart { margin: 0.6rem 0; }
.ek-report .ek-chart img { display: block; width: 100%; max-width: 34rem; height: auto;
  margin: 0 auto; }
.ek-report ol.ek-priorities { padding-left: 1.4rem; margin: 0.4rem 0; }
.ek-report ol.ek-priorities li { margin: 0.3rem 0; }
.ek-report .ek-notes { font-size: 0.88rem; color: #57606a; }
@media screen and (max-width: 36rem) {
  .ek-report h1 { font-size: 1.4rem; }
  .ek-report .ek-big { font-size: 1.7rem; }
  .ek-report .ek-card { padding: 0.6rem 0.7rem; }
  .ek-report table.ek-table, .ek-report table.ek-table tbody,
  .ek-report table.ek-table tr, .ek-report table.ek-table td { display: block; width: 100%; }
  .ek-report table.ek-table thead { display: none; }
  .ek-report table.ek-table tr { border: 1px solid #d0d7de; border-radius: 0.4rem;
    margin: 0 0 0.6rem; padding: 0.2rem 0.6rem; }
  .ek-report table.ek-table td, .ek-report table.ek-table td.ek-num,
  .ek-report table.ek-table td.ek-status { display: flex; justify-content: space-between;
    gap: 0.8rem; text-align: right; white-space: normal; border-bottom: 1px solid #eaeef2;
    padding: 0.3rem 0; min-width: 0; }
  .ek-report table.ek-table td:last-child { border-bottom: none; }
  .ek-report table.ek-table td::before { content: attr(data-label); color: #57606a;
    font-weight: 400; text-align: left; flex-shrink: 0; max-width: 55%; }
  .ek-report table.ek-table td:first-child { font-weight: 700; }
}
@media print {
  @page { size: A4; margin: 11mm 11mm; }
  /* Every size on the page is in rem: one root size scales the whole page for paper. */
  html { font-size: 11.5px; }
  .ek-report { max-width: none; font-size: 1rem; line-height: 1.38; }
  .ek-report * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  .ek-report h1 { font-size: 1.55rem; margin: 0 0 0.2rem; }
  .ek-report h2 { font-size: 1.2rem; margin: 0.5rem 0 0.25rem; padding-bottom: 0.1rem;
    break-after: avoid; page-break-after: avoid; }
  .ek-report p { margin: 0.15rem 0; }
  .ek-report .ek-cards { gap: 0.35rem; }
  .ek-report .ek-card { flex: 1 1 45%; padding: 0.3rem 0.55rem; break-inside: avoid;
    page-break-inside: avoid; }
  .ek-report .ek-big { font-size: 1.7rem; }
  .ek-report .ek-mid { font-size: 1.05rem; }
  .ek-report .ek-figures { margin: 0.1rem 0 0; }
  .ek-report .ek-line { max-height: 3.6rem; margin: 0.1rem 0; }
  .ek-report .ek-what { display: none; }
  .ek-report .ek-chips { margin: 0.2rem 0; }
  .ek-report .ek-decision { padding: 0.25rem 0.55rem; margin: 0.2rem 0 0.3rem; }
  .ek-report .ek-chart { margin: 0.2rem 0; }
  .ek-report .ek-chart img { max-width: 9.5cm; }
  .ek-report table.ek-table tr, .ek-report ol.ek-priorities li {
    break-inside: avoid; page-break-inside: avoid; }
  .ek-report .ek-table-wrap { overflow: visible; }
  .ek-report table.ek-table { font-size: 0.92rem; margin: 0.2rem 0; }
  .ek-report table.ek-table th, .ek-report table.ek-table td { padding: 0.12rem 0.35rem; }
  .ek-report ol.ek-priorities li { margin: 0.1rem 0; }
  /* JupyterLab's print CSS keeps each output on one page; the cards output is taller than
     a page, so that rule would leave page 1 empty. Only outputs holding this report. */
  .jp-OutputArea-child:has(.ek-report) { break-inside: auto; }
  .jp-OutputArea-child:has(.ek-drivers) { break-after: avoid; page-break-after: avoid; }
  .jp-RenderedImage img { max-width: 9.5cm !important; height: auto !important; }
  .jp-Notebook, .jp-Cell, .jp-OutputArea-output { padding: 0 !important; margin: 0 !important; }
  body.jp-Notebook { padding: 0 !important; }
}
"""
