"""Inline SVG drawn by hand: a time axis, a line chart with dashed thresholds, and fault lanes.

Every function returns markup with all text escaped. Each chart is an ``<svg role="img">`` with a
``<title>`` and a ``<desc>`` that say in words what it shows; each mark has its own ``<title>``.
Charts scale with their container (``viewBox``, ``width="100%"``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

__all__ = ["WIDTH", "Lane", "Threshold", "line_chart", "nice_max", "timeline"]

WIDTH = 1000
_RIGHT = 16


@dataclass(frozen=True)
class _Frame:
    """Where the plot sits in the ``viewBox``: ``left`` is the room for labels."""

    width: int
    left: int
    total: float  # seconds on the time axis

    @property
    def right(self) -> int:
        return self.width - _RIGHT

    def x(self, t: float) -> float:
        plot = self.right - self.left
        return self.left + (t / self.total * plot if self.total > 0 else 0.0)


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _n(value: float) -> str:
    """A coordinate: short, no needless decimals."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


def nice_max(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 times a power of ten that is at least ``value`` (> 0)."""
    if not value > 0 or math.isinf(value):
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for m in (1, 2, 2.5, 5, 10):
        if m * power >= value * (1 - 1e-9):
            return float(m * power)
    return float(10 * power)  # pragma: no cover


def _time_ticks(total: float, count: int) -> list[float]:
    step = nice_max(total / count) if total > 0 else 1.0
    step = max(step, 1.0)
    return [i * step for i in range(int(total / step) + 1)]


def _seconds(value: float) -> str:
    if value >= 3600:
        return f"{value / 3600:g} h"
    if value >= 120:
        return f"{value / 60:g} min"
    return f"{value:g} s"


def _open(ident: str, width: int, height: int, title: str, desc: str, css: str) -> str:
    return (
        f'<svg class="{css}" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-labelledby="{ident}-t {ident}-d" preserveAspectRatio="xMidYMid meet">'
        f'<title id="{ident}-t">{_e(title)}</title><desc id="{ident}-d">{_e(desc)}</desc>'
    )


def _time_axis(f: _Frame, top: float, bottom: float) -> list[str]:
    out = []
    for t in _time_ticks(f.total, 8 if f.width > 700 else 5):
        x = _n(f.x(t))
        out.append(
            f'<line class="grid" x1="{x}" x2="{x}" y1="{_n(top)}" y2="{_n(bottom)}"/>'
            f'<text class="tick" x="{x}" y="{_n(bottom + 16)}" text-anchor="middle">'
            f"{_e(_seconds(t))}</text>"
        )
    return out


def _band(f: _Frame, top: float, bottom: float, baseline: float | None) -> list[str]:
    if not baseline:
        return []
    x0, x1 = f.x(0), f.x(min(baseline, f.total))
    return [
        f'<rect class="baseline" x="{_n(x0)}" y="{_n(top)}" width="{_n(x1 - x0)}" '
        f'height="{_n(bottom - top)}"><title>baseline: no faults, 0 to '
        f"{_e(_seconds(baseline))}</title></rect>"
        f'<text class="band-label" x="{_n(x0 + 4)}" y="{_n(top + 12)}">baseline</text>'
    ]


def _stop(f: _Frame, top: float, bottom: float, stop_at: float | None) -> list[str]:
    if stop_at is None:
        return []
    x = _n(f.x(min(stop_at, f.total)))
    return [
        f'<line class="stop" x1="{x}" x2="{x}" y1="{_n(top)}" y2="{_n(bottom)}">'
        f"<title>stopped by a stop condition at {stop_at:.1f} s</title></line>"
        f'<text class="stop-label" x="{x}" y="{_n(top - 4)}" text-anchor="end">stopped</text>'
    ]


@dataclass(frozen=True)
class Lane:
    """One component: its fault counts per bucket, by fault type."""

    component: str
    by_type: dict[str, list[int]]


def timeline(
    ident: str,
    lanes: Sequence[Lane],
    *,
    step: float,
    total: float,
    colors: Callable[[str], str],
    baseline: float | None = None,
    stop_at: float | None = None,
) -> str:
    """One lane per component, one row per fault type in it; a mark per bucket with faults,
    its height growing with the count (the lane's busiest bucket fills the row)."""
    # Room for "component  fault_type" at about 7 units a character, within bounds.
    labels = [
        len(_short(lane.component)) + max(map(len, lane.by_type), default=1) for lane in lanes
    ]
    f = _Frame(WIDTH, min(360, max(150, 30 + 7 * max(labels, default=0))), total)
    row, gap, top = 26, 12, 22
    rows = sum(max(1, len(lane.by_type)) for lane in lanes)
    bottom = top + rows * row + max(0, len(lanes) - 1) * gap
    height = int(bottom + 26)
    fired = sum(sum(v) for lane in lanes for v in lane.by_type.values())
    desc = (
        f"{fired} faults fired over {_seconds(total)} on {len(lanes)} component(s), "
        f"in buckets of {_seconds(step)}. "
        + "; ".join(
            f"{lane.component}: "
            + (
                ", ".join(f"{sum(v)} {t}" for t, v in lane.by_type.items())
                or "no fault types declared"
            )
            for lane in lanes
        )
    )
    title = "Faults fired over time, by component"
    out = [_open(ident, f.width, height, title, desc, "chart timeline")]
    out += _band(f, top - 8, bottom, baseline)
    out += _time_axis(f, top - 8, bottom)
    y = float(top)
    for lane in lanes:
        types = list(lane.by_type) or ["-"]
        peak = max((max(v, default=0) for v in lane.by_type.values()), default=0) or 1
        out.append(
            f'<g class="lane" data-component="{_e(lane.component)}">'
            f'<text class="lane-label" x="8" y="{_n(y + 17)}">{_e(_short(lane.component))}'
            f"<title>{_e(lane.component)}</title></text>"
        )
        for i, fault_type in enumerate(types):
            ry = y + i * row
            out.append(
                f'<rect class="row" x="{f.left}" y="{_n(ry + 2)}" width="{f.right - f.left}" '
                f'height="{row - 4}"/>'
                f'<text class="row-label" x="{f.left - 8}" y="{_n(ry + 17)}" '
                f'text-anchor="end">{_e(fault_type)}</text>'
            )
            for b, count in enumerate(lane.by_type.get(fault_type, [])):
                if not count:
                    continue
                t0, t1 = b * step, min((b + 1) * step, total)
                x0, x1 = f.x(t0), f.x(t1)
                h = max(3.0, (row - 6) * count / peak)
                w = max(1.5, x1 - x0 - 1)
                label = (
                    f"{lane.component}: {count} {fault_type} fault{'s' if count != 1 else ''} "
                    f"at {t0:g}-{t1:g} s"
                )
                out.append(
                    f'<rect class="mark" x="{_n(x0 + 0.5)}" y="{_n(ry + row - 3 - h)}" '
                    f'width="{_n(w)}" height="{_n(h)}" rx="1" fill="{colors(fault_type)}" '
                    f'data-fault-type="{_e(fault_type)}" data-bucket="{b}" '
                    f'data-count="{count}"><title>{_e(label)}</title></rect>'
                )
        out.append("</g>")
        y += len(types) * row + gap
    out += _stop(f, top - 8, bottom, stop_at)
    out.append("</svg>")
    return "".join(out)


def _short(name: str, limit: int = 18) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"


@dataclass(frozen=True)
class Threshold:
    """A steady-state limit drawn as a dashed line: its value and what to call it."""

    value: float
    label: str
    passed: bool


def line_chart(
    ident: str,
    *,
    title: str,
    values: Sequence[float | None],
    step: float,
    total: float,
    thresholds: Sequence[Threshold] = (),
    fmt: Callable[[float], str],
    floor_max: float,
    baseline: float | None = None,
    stop_at: float | None = None,
    desc: str,
    width: int = 520,
) -> str:
    """Values per bucket as a line (a gap where a bucket has none) over a light area, and each
    threshold as a dashed line with its label."""
    f = _Frame(width, 64, total)
    top, bottom = 18.0, 188.0
    height = 216
    seen = [v for v in values if v is not None]
    peak = max([floor_max, *seen, *(t.value * 1.1 for t in thresholds)])
    tick = nice_max(peak / 4)
    ticks = max(1, math.ceil(peak / tick - 1e-9))
    y_max = tick * ticks

    def y(v: float) -> float:
        return bottom - (v / y_max) * (bottom - top)

    out = [_open(ident, f.width, height, title, desc, "chart line")]
    out += _band(f, top, bottom, baseline)
    for i in range(ticks + 1):
        v = tick * i
        ys = _n(y(v))
        out.append(
            f'<line class="grid" x1="{f.left}" x2="{f.right}" y1="{ys}" y2="{ys}"/>'
            f'<text class="tick" x="{f.left - 8}" y="{_n(y(v) + 4)}" text-anchor="end">'
            f"{_e(fmt(v))}</text>"
        )
    out += _time_axis(f, top, bottom)
    points = [
        (f.x((min(i * step, total) + min((i + 1) * step, total)) / 2), y(v), i, v)
        for i, v in enumerate(values)
        if v is not None
    ]
    segments: list[list[tuple[float, float]]] = []
    last = -2
    for x, yy, i, _ in points:
        if i != last + 1:
            segments.append([])
        segments[-1].append((x, yy))
        last = i
    for seg in segments:
        line = " ".join(f"{_n(x)},{_n(yy)}" for x, yy in seg)
        area = f"{_n(seg[0][0])},{_n(bottom)} {line} {_n(seg[-1][0])},{_n(bottom)}"
        out.append(f'<polygon class="area" points="{area}"/>')
        out.append(f'<polyline class="series" points="{line}"/>')
    for x, yy, i, v in points:
        label = f"{i * step:g}-{min((i + 1) * step, total):g} s: {fmt(v)}"
        out.append(
            f'<circle class="point" cx="{_n(x)}" cy="{_n(yy)}" r="2.6" data-bucket="{i}" '
            f'data-value="{v:g}"><title>{_e(label)}</title></circle>'
        )
    for t in thresholds:
        ys = _n(y(t.value))
        state = "pass" if t.passed else "fail"
        out.append(
            f'<g class="threshold {state}" data-threshold="{t.value:g}">'
            f'<line x1="{f.left}" x2="{f.right}" y1="{ys}" y2="{ys}"/>'
            f'<text x="{f.right - 4}" y="{_n(y(t.value) - 5)}" text-anchor="end">'
            f"{_e(t.label)}</text><title>{_e(t.label)}</title></g>"
        )
    if not points:
        out.append(
            f'<text class="empty" x="{_n((f.left + f.right) / 2)}" y="{_n((top + bottom) / 2)}" '
            'text-anchor="middle">no workload iterations to show</text>'
        )
    out += _stop(f, top, bottom, stop_at)
    out.append("</svg>")
    return "".join(out)
