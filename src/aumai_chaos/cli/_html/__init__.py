"""``aumai-chaos report --format html``: one self-contained page, drawn by our own code.

Inline CSS and inline SVG, no script, no external resource: the file can be mailed, attached to
a CI run or opened offline. ``_svg`` draws the charts, ``_style`` holds the look, ``_page``
assembles the page from an :class:`~aumai_chaos.ExperimentResult`.
"""

from __future__ import annotations

from aumai_chaos.cli._html._page import render_html

__all__ = ["render_html"]
