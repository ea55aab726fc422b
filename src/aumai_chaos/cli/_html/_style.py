"""The report's look: one inline style sheet, and the colours the page and the charts share."""

from __future__ import annotations

__all__ = ["CSS", "FAULT_COLORS", "VERDICT_COLORS", "fault_color"]

#: Verdict (or status, for a result without one) -> (colour, glyph). The glyph and the word say
#: it too: the page never relies on colour alone.
VERDICT_COLORS: dict[str, tuple[str, str]] = {
    "passed": ("#15803d", "✓"),
    "completed": ("#15803d", "✓"),
    "deviated": ("#b91c1c", "✗"),
    "failed": ("#991b1b", "✗"),
    "baseline_not_met": ("#c2410c", "✗"),
    "inconclusive": ("#a16207", "?"),
    "aborted": ("#4b5563", "■"),
    "running": ("#4b5563", "…"),
    "pending": ("#4b5563", "…"),
}

#: Colour-blind-safe (Okabe-Ito) colours per fault type; unknown types take the rest in turn.
FAULT_COLORS: dict[str, str] = {
    "latency": "#e69f00",
    "error": "#d55e00",
    "timeout": "#cc79a7",
    "resource_exhaustion": "#0072b2",
}
_SPARE = ("#009e73", "#56b4e9", "#7c3aed", "#6b7280")


def fault_color(fault_type: str) -> str:
    found = FAULT_COLORS.get(fault_type)
    if found is not None:
        return found
    return _SPARE[sum(map(ord, fault_type)) % len(_SPARE)]


CSS = """
:root { --ink:#111827; --muted:#6b7280; --line:#e5e7eb; --bg:#f6f7f9; --card:#fff;
  --accent:#2563eb; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--ink);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", Roboto, sans-serif; }
main { max-width: 1120px; margin: 0 auto; padding: 32px 28px 48px; }
header.top { display:flex; gap:24px; align-items:flex-start; justify-content:space-between;
  flex-wrap:wrap; margin-bottom: 20px; }
.eyebrow { font-size:12px; letter-spacing:.08em; text-transform:uppercase; color:var(--muted);
  margin:0 0 4px; }
h1 { font-size: 26px; line-height:1.25; margin: 0 0 8px; font-weight: 650; }
h2 { font-size: 17px; margin: 0 0 4px; font-weight: 620; }
.sub { color: var(--muted); margin: 0 0 14px; font-size: 13.5px; }
dl.meta { display:flex; flex-wrap:wrap; gap: 4px 22px; margin:0; font-size: 13.5px; }
dl.meta div { display:flex; gap:6px; }
dl.meta dt { color: var(--muted); }
dl.meta dd { margin:0; font-variant-numeric: tabular-nums; }
code { font: 12.5px/1.4 ui-monospace, "DejaVu Sans Mono", Menlo, monospace; background:#eef0f3;
  padding: 1px 5px; border-radius: 4px; }
.verdict { border-radius: 14px; padding: 14px 22px; color:#fff; min-width: 230px;
  box-shadow: 0 1px 2px rgb(0 0 0 / .06); }
.verdict .label { font-size:12px; letter-spacing:.08em; text-transform:uppercase; opacity:.85; }
.verdict .value { font-size: 30px; font-weight: 700; line-height: 1.15; display:flex; gap:10px;
  align-items:center; }
.verdict .status { font-size: 13px; opacity: .9; }
.cards { display:grid; grid-template-columns: repeat(auto-fit, minmax(160px, 1fr)); gap: 12px;
  margin: 0 0 20px; }
.card, section { background: var(--card); border: 1px solid var(--line); border-radius: 12px; }
.card { padding: 12px 16px; }
.card .k { color: var(--muted); font-size: 12.5px; }
.card .v { font-size: 22px; font-weight: 650; font-variant-numeric: tabular-nums; }
.card .v small { font-size: 13px; color: var(--muted); font-weight: 500; }
section { padding: 18px 20px 14px; margin: 0 0 16px; }
.notice { border-left: 4px solid #a16207; background: #fffbeb; padding: 10px 14px;
  border-radius: 8px; margin: 0 0 16px; font-size: 14px; }
.notice.bad { border-color:#b91c1c; background:#fef2f2; }
.grid2 { display:grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 16px; }
.grid2 > section { overflow-x: auto; }
@media (max-width: 900px) { .grid2 { grid-template-columns: 1fr; } }
.legend { display:flex; flex-wrap:wrap; gap: 6px 16px; font-size: 12.5px; color: var(--muted);
  margin: 6px 0 0; padding:0; list-style:none; }
.legend li { display:flex; align-items:center; gap:6px; }
.swatch { width: 12px; height: 12px; border-radius: 3px; display:inline-block; }
.swatch.dash { height: 0; border-top: 2px dashed #374151; border-radius:0; width: 18px; }
.swatch.band { background:#eef2ff; border:1px solid #c7d2fe; }
svg.chart { display:block; margin-top: 6px; overflow: visible; }
svg text { font: 11.5px system-ui, "DejaVu Sans", sans-serif; fill: var(--muted); }
svg .lane-label { fill: var(--ink); font-weight: 600; font-size: 12.5px; }
svg .row { fill: #0f172a; fill-opacity: .03; }
svg .grid { stroke: #eef0f3; stroke-width: 1; }
svg .baseline { fill: #eef2ff; }
svg .band-label { fill: #4f46e5; font-size: 11px; }
svg .mark { stroke: none; }
svg .series { fill: none; stroke: var(--accent); stroke-width: 2; stroke-linejoin: round; }
svg .area { fill: #2563eb; fill-opacity: .08; stroke: none; }
svg .point { fill: #fff; stroke: var(--accent); stroke-width: 1.5; }
svg .threshold line { stroke-width: 1.5; stroke-dasharray: 6 4; }
svg .threshold.pass line { stroke: #15803d; }
svg .threshold.fail line { stroke: #b91c1c; }
svg .threshold.pass text { fill: #15803d; font-weight: 600; }
svg .threshold.fail text { fill: #b91c1c; font-weight: 600; }
svg .stop { stroke: #111827; stroke-width: 1.5; stroke-dasharray: 2 3; }
svg .stop-label { fill: var(--ink); font-weight: 600; }
svg .empty { font-size: 13px; }
table { width:100%; border-collapse: collapse; font-size: 13.5px; margin-top: 8px; }
th { text-align:left; font-weight: 600; color: var(--muted); font-size: 12px;
  text-transform: uppercase; letter-spacing: .04em; border-bottom: 1px solid var(--line);
  padding: 6px 8px; }
td { padding: 7px 8px; border-bottom: 1px solid #f1f2f4; font-variant-numeric: tabular-nums; }
tr:last-child td { border-bottom: none; }
td.num, th.num { text-align: right; white-space: nowrap; }
td.type { white-space: nowrap; }
td:first-child { overflow-wrap: anywhere; }
.pill { display:inline-block; padding: 1px 9px; border-radius: 999px; font-size: 12.5px;
  font-weight: 600; }
.pill.pass { background:#dcfce7; color:#166534; }
.pill.fail { background:#fee2e2; color:#991b1b; }
.pill.none { background:#f3f4f6; color:#4b5563; }
.muted { color: var(--muted); }
footer { color: var(--muted); font-size: 12.5px; text-align:center; margin-top: 24px; }
"""
