"""A griffe extension for the documentation site: Sphinx roles in docstrings become code.

Our docstrings are written for Python's ``help()`` and editors, with Sphinx roles such as
``:class:`~aumai_chaos.faults.LatencyFault``` and ``:func:`instrument```. mkdocstrings renders
Markdown, where a role would show up verbatim; this extension rewrites each role into a code
span of the name a reader sees (``~`` keeps the last component, as Sphinx does, and
``text <target>`` keeps the text). Loaded by ``mkdocs.yml``; nothing here runs at import of
``aumai_chaos``.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

__all__ = ["SphinxRoles", "rewrite_roles"]

_ROLE = re.compile(r":(?:py:)?(?:class|func|meth|attr|mod|data|exc|obj|const):`([^`]+)`")


def _shown(target: str) -> str:
    target = target.strip()
    explicit = re.fullmatch(r"(.+?)\s*<[^>]+>", target)
    if explicit:
        return explicit.group(1)
    if target.startswith("~"):
        return target[1:].rsplit(".", 1)[-1]
    return target.lstrip(".")


def rewrite_roles(text: str) -> str:
    """``:class:`~a.b.C``` → ```C```; ``:func:`f```  → ```f```."""
    return _ROLE.sub(lambda m: f"``{_shown(m.group(1))}``", text)


class SphinxRoles(griffe.Extension):
    """Rewrite Sphinx roles in every docstring griffe loads."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = rewrite_roles(obj.docstring.value)
