"""Which armed experiment a call's context selects: the one its W3C baggage names.

A service *arms* experiments (``aumai_chaos.arm``); an armed experiment's faults act only on
calls made in a context whose OpenTelemetry baggage carries ``aumai.chaos.experiment=<id>``
naming it. Baggage is untrusted input: it can only select an experiment this process armed,
never define or change one. An entry that names nothing armed, is too long or is not a plain
id is ignored and counted (:func:`ignored`). ``AUMAI_CHAOS_BAGGAGE=off`` turns selection off.

:func:`selected` is the one check, called by the registry's scope check only while something is
armed: one context lookup (the baggage entry), then a dict lookup.
"""

from __future__ import annotations

import os
import re
import threading

from opentelemetry import baggage
from opentelemetry.context import get_current

_KEY: str | None
try:  # the context key the API keeps baggage under: read directly, one context lookup
    from opentelemetry.baggage import _BAGGAGE_KEY

    _KEY = _BAGGAGE_KEY
except ImportError:  # pragma: no cover - an API without it: its public accessor, slower
    _KEY = None

__all__ = [
    "BAGGAGE_ENV",
    "BAGGAGE_KEY",
    "MAX_ENTRY_CHARS",
    "count",
    "forget",
    "ignored",
    "register",
    "selected",
    "state",
]

#: The baggage entry that names an experiment.
BAGGAGE_KEY = "aumai.chaos.experiment"
#: ``AUMAI_CHAOS_BAGGAGE=off`` (or ``0``, ``false``, ``no``): no request selects anything.
BAGGAGE_ENV = "AUMAI_CHAOS_BAGGAGE"
#: The longest entry value read (an experiment id is at most 200 characters).
MAX_ENTRY_CHARS = 200
_ID = re.compile(r"[A-Za-z0-9_.:\-]{1,200}")


class _State:
    __slots__ = ("armed", "on")

    def __init__(self) -> None:
        #: experiment id -> the registry key of its route (copy-on-write; read without a lock).
        self.armed: dict[str, object] = {}
        self.on = os.environ.get(BAGGAGE_ENV, "").strip().lower() not in ("off", "0", "false", "no")


state = _State()
_lock = threading.Lock()
_ignored: dict[str, int] = {}


def count(reason: str) -> None:
    """Count one ignored baggage entry or header (``unknown``, ``oversized``, ``malformed``)."""
    with _lock:
        _ignored[reason] = _ignored.get(reason, 0) + 1


def ignored() -> dict[str, int]:
    """How many baggage entries or headers were ignored so far, by reason."""
    with _lock:
        return dict(_ignored)


def register(experiment_id: str, key: object) -> None:
    with _lock:
        state.armed = {**state.armed, experiment_id: key}


def forget(experiment_id: str, key: object) -> None:
    with _lock:
        if state.armed.get(experiment_id) is key:
            armed = dict(state.armed)
            del armed[experiment_id]
            state.armed = armed


def selected() -> object | None:
    """The registry key of the armed experiment this context's baggage names, if any.

    Never raises: a bad entry is counted and ignored."""
    armed = state.armed
    if not armed or not state.on:
        return None
    try:
        if _KEY is not None:
            entries = get_current().get(_KEY)
            value = entries.get(BAGGAGE_KEY) if isinstance(entries, dict) else None
        else:
            value = baggage.get_baggage(BAGGAGE_KEY)
    except Exception:
        return None
    if value is None:
        return None
    key = armed.get(value) if isinstance(value, str) else None
    if key is not None:
        return key
    if not isinstance(value, str):
        count("malformed")
    elif len(value) > MAX_ENTRY_CHARS:
        count("oversized")
    elif not _ID.fullmatch(value):
        count("malformed")
    else:
        count("unknown")
    return None
