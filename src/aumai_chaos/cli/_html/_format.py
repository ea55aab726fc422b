"""Formatting shared by the page and its tables: escaping, numbers, table cells."""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any

__all__ = ["e", "ms", "num", "pct", "table", "td", "when"]


def e(text: object) -> str:
    return escape(str(text), quote=True)


def num(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def pct(value: float) -> str:
    text = f"{value * 100:.1f}".rstrip("0").rstrip(".")
    return f"{text}%"


def ms(value: float) -> str:
    return f"{value:,.0f} ms" if value >= 100 else f"{value:.3g} ms"


def when(value: datetime | None) -> str:
    return value.isoformat(timespec="seconds") if value is not None else "-"


def td(value: Any, field: str, *, num: bool = True, text: str | None = None) -> str:
    cls = ' class="num"' if num else ""
    shown = text if text is not None else value
    return f'<td{cls} data-field="{e(field)}" data-value="{e(value)}">{e(shown)}</td>'


def table(header: list[tuple[str, bool]], rows: list[str], ident: str, caption: str) -> str:
    head = "".join(f'<th{" class=num" if num else ""} scope="col">{e(h)}</th>' for h, num in header)
    return (
        f'<table id="{ident}"><caption class="sub" style="text-align:left">{e(caption)}'
        f"</caption><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )
