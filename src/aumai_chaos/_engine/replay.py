"""Seeded selection that replays: one portable hash per (seed, component, fault, call).

With a seed, whether a fault may fire on the n-th call into a component is decided by
:func:`occurrence_draw`, a pure function of four values, instead of a shared random stream whose
order of draws depends on how threads and tasks were scheduled. The same seed gives the same
faulted calls on any machine and any Python version, whatever ran in between.

The function (docs/replay.md has golden vectors, which the tests check)::

    key   = "aumai-chaos/1" US seed US component US position US n    (US = "\\x1f")
            every number in decimal ASCII, the component in UTF-8
    value = first 8 bytes of SHA-256(key), as a big-endian unsigned integer
    draw  = (value >> 11) / 2**53                                      (a float in [0, 1))

A fault with probability ``p`` may fire on call ``n`` when ``draw < p``.
"""

from __future__ import annotations

import hashlib

__all__ = ["VERSION_TAG", "occurrence_draw", "occurrence_drawer"]

VERSION_TAG = "aumai-chaos/1"
_SEP = "\x1f"
_SCALE = 1.0 / (1 << 53)


def occurrence_draw(seed: int, component: str, position: int, n: int) -> float:
    """The uniform draw in [0, 1) for fault ``position`` on call ``n`` into ``component``."""
    key = _SEP.join((VERSION_TAG, str(seed), component, str(position), str(n)))
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return (int.from_bytes(digest[:8], "big") >> 11) * _SCALE


def occurrence_drawer(seed: int, component: str, position: int) -> _Drawer:
    """:func:`occurrence_draw` with its first three arguments bound (the prefix hashed once)."""
    return _Drawer(seed, component, position)


class _Drawer:
    __slots__ = ("_prefix",)

    def __init__(self, seed: int, component: str, position: int) -> None:
        prefix = _SEP.join((VERSION_TAG, str(seed), component, str(position), ""))
        self._prefix = hashlib.sha256(prefix.encode("utf-8"))

    def __call__(self, n: int) -> float:
        h = self._prefix.copy()
        h.update(str(n).encode("ascii"))
        return (int.from_bytes(h.digest()[:8], "big") >> 11) * _SCALE
