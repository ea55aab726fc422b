"""Carrying an experiment across services in W3C baggage.

An experiment block with ``scope="baggage"`` puts ``aumai.chaos.experiment=<experiment_id>`` into
the OpenTelemetry baggage of its context. Whatever propagation the process has configured
(OpenTelemetry's HTTP client instrumentations, the ``mcp`` SDK) carries it to the services the
block calls; aumai-chaos's own instrumented httpx/httpx2 clients (:func:`aumai_chaos.instrument`)
add the ``baggage`` header themselves when nothing else did. In a service that armed the
experiment (:func:`aumai_chaos.arm`), calls made in a context with that entry get its faults.

- :func:`inject` writes the current context (baggage included) into a carrier with the
  configured propagator: for clients aumai-chaos does not instrument (an MCP client's ``_meta``).
- :func:`extract` reads a carrier (incoming HTTP headers) into a context, for services with no
  OpenTelemetry server instrumentation: ``with attached(extract(headers)): handle(...)``.
  A header that is too large or malformed is ignored and counted, never raised.
- :func:`experiment_id` is the experiment the current context's baggage names, if any.
- :func:`ignored` counts the entries and headers ignored so far, by reason.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Mapping, MutableMapping
from typing import Any

from opentelemetry import baggage, propagate
from opentelemetry import context as otel_context
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.context import Context

from aumai_chaos._engine import selection

__all__ = [
    "BAGGAGE_KEY",
    "MAX_HEADER_BYTES",
    "attached",
    "experiment_id",
    "extract",
    "ignored",
    "inject",
]

BAGGAGE_KEY = selection.BAGGAGE_KEY
#: A ``baggage`` header longer than this is ignored (W3C Baggage's own limit is 8192 bytes).
MAX_HEADER_BYTES = 8192
_W3C = W3CBaggagePropagator()


class _Outgoing:
    __slots__ = ("blocks",)

    def __init__(self) -> None:
        #: How many baggage-scoped blocks are running in this process: the instrumented
        #: clients look at a request's headers only while some are.
        self.blocks = 0


outgoing = _Outgoing()
_outgoing_lock = threading.Lock()


def carrying(delta: int) -> None:
    """One more (``1``) or one fewer (``-1``) baggage-scoped run in this process."""
    with _outgoing_lock:
        outgoing.blocks += delta


def experiment_id(context: Context | None = None) -> str | None:
    """The experiment named by the baggage of ``context`` (default: the current one)."""
    value = baggage.get_baggage(BAGGAGE_KEY, context)
    return value if isinstance(value, str) else None


def inject(carrier: MutableMapping[str, str], context: Context | None = None) -> None:
    """Write ``context`` (default: the current one) into ``carrier`` with the configured
    propagator; when that wrote no ``baggage`` entry but the context names an experiment, add
    the W3C ``baggage`` entry for it. Never raises."""
    try:
        propagate.inject(carrier, context=context)
        ident = experiment_id(context)
        if ident is not None and not _has_baggage(carrier):
            only = baggage.set_baggage(BAGGAGE_KEY, ident, Context())
            _W3C.inject(carrier, context=only)
    except Exception:
        selection.count("inject_failed")


def extract(headers: Mapping[str, Any], context: Context | None = None) -> Context:
    """The context ``headers`` carry, read with the configured propagator. A ``baggage`` header
    that is too large or malformed is left out (and counted); never raises."""
    carrier: dict[str, str] = {}
    try:
        for name, value in headers.items():
            key = name.decode("latin-1") if isinstance(name, bytes) else str(name)
            text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
            key = key.lower()
            if key == "baggage" and len(text) > MAX_HEADER_BYTES:
                selection.count("oversized")
                continue
            carrier[key] = f"{carrier[key]},{text}" if key in carrier else text
        ctx = propagate.extract(carrier, context=context)
    except Exception:
        selection.count("malformed")
        return context if context is not None else Context()
    if BAGGAGE_KEY in carrier.get("baggage", "") and experiment_id(ctx) is None:
        selection.count("malformed")
    return ctx


@contextlib.contextmanager
def attached(context: Context) -> Iterator[Context]:
    """Make ``context`` current for the block (``extract``'s result, typically)."""
    token = otel_context.attach(context)
    try:
        yield context
    finally:
        otel_context.detach(token)


def ignored() -> dict[str, int]:
    """How many baggage entries or headers were ignored so far, by reason (``unknown``: names
    no armed experiment; ``oversized``; ``malformed``)."""
    return selection.ignored()


def _has_baggage(carrier: Mapping[str, Any]) -> bool:
    return any(str(k).lower() == "baggage" for k in carrier)


def add_to_request(headers: Any) -> None:
    """For the instrumented clients: give a request with no ``baggage`` header the current
    context's, when it names an experiment. ``headers`` is an httpx ``Headers``."""
    if experiment_id() is None or "baggage" in headers:
        return
    carrier: dict[str, str] = {}
    inject(carrier)
    for name, value in carrier.items():
        if name not in headers:
            headers[name] = value
