"""The HTTP transport's cost on a real loopback request to ``ProviderServer``.

Two budgets (issue 13), each a ratio within one run of interleaved rounds:

- ``instrument()`` active with no experiment running, against the same request uninstrumented:
  at most 1.02x (wrapt's ``enabled=`` gate reads ``state.routing`` in C and calls the original
  method directly);
- a ``ChaosTransport`` whose fault never fires, against the bare ``HTTPTransport`` it wraps:
  at most 1.05x (it names the request by its route and lets the engine decide, each request).

Each sample is a burst of keep-alive ``GET /v1/models`` requests from one ``httpx2.Client``
(the SDKs' library); the server runs in this process, as in the tests. Samples are timed in
*process CPU time* (client, server and the kernel's socket work on their behalf), not wall
time: on a shared machine the wall time of a loopback request varies by tens of percent with
what other processes do, while its CPU cost, which is what we add to, does not.
"""

from __future__ import annotations

import itertools
import statistics
import time
from typing import Any

from .harness import Budget, Row, Variant, interleave

__all__ = ["run"]

SECTION = "HTTP transport"


def _timer(client: Any, url: str) -> Any:
    get = client.get

    def timer(n: int) -> int:
        it = itertools.repeat(None, n)
        t0 = time.process_time_ns()
        for _ in it:
            get(url)
        return time.process_time_ns() - t0

    return timer


class _StubPool:
    """An httpcore2 pool that answers at once: the transport's own CPU cost, no network."""

    def __init__(self, httpcore2: Any) -> None:
        self.response = httpcore2.Response(200, headers=[(b"content-length", b"2")], content=b"{}")

    def handle_request(self, request: Any) -> Any:
        return self.response

    def close(self) -> None:
        return None


def _median_ratio(samples: dict[str, Any], key: str, floor: str) -> float:
    """The median over rounds of each round's ratio: a drift of the machine between rounds
    cancels out, which a ratio of two medians does not do."""
    pairs = zip(samples[key].per_call, samples[floor].per_call, strict=True)
    return statistics.median(a / b for a, b in pairs)


def run(*, quick: bool) -> list[Row]:
    try:
        import httpcore2
        import httpx2

        from aumai_chaos.faults import RateLimitFault
        from aumai_chaos.testing import ProviderServer
        from aumai_chaos.transport import instrument, uninstrument
    except ImportError as exc:
        return [Row(SECTION, "transport", note=f"unavailable: {exc}")]

    never = RateLimitFault(probability=0.0)
    # instrument() stays on for the whole section; the uninstrumented floor is a subclass whose
    # handle_request is the original function, so no variant re-patches the class between
    # samples (which would also reset the interpreter's caches for it).
    original = httpx2.HTTPTransport.__dict__["handle_request"]
    unpatched = type("Unpatched", (httpx2.HTTPTransport,), {"handle_request": original})
    rows: list[Row] = []
    instrument()
    try:
        with ProviderServer() as server:
            url = f"{server.url}/v1/models"
            samples = _measure(httpx2, unpatched, never, url, quick, pool=None)
        rows += _rows(samples, "loopback GET to ProviderServer", budgets=True)
        # The same three without the network: what each adds in CPU per request.
        samples = _measure(httpx2, unpatched, never, url, quick, pool=_StubPool(httpcore2))
        rows += _rows(samples, "GET answered in-process (no network)", budgets=False)
    finally:
        uninstrument()
    return rows


def _measure(
    httpx2: Any, unpatched: type, never: Any, url: str, quick: bool, pool: Any
) -> dict[str, Any]:
    from aumai_chaos.transport import ChaosTransport

    def transport(cls: Any) -> Any:
        inner = cls()
        if pool is not None:
            inner._pool = pool
        return inner

    clients = {
        "bare": httpx2.Client(transport=transport(unpatched)),
        "instrumented": httpx2.Client(transport=transport(httpx2.HTTPTransport)),
        "chaos": httpx2.Client(
            transport=ChaosTransport(transport(unpatched), faults=[never], seed=1)
        ),
    }
    try:
        return interleave(
            [Variant(key, _timer(client, url)) for key, client in clients.items()],
            rounds=5 if quick else 101,
            target_ns=5_000_000 if quick else 20_000_000,
        )
    finally:
        for client in clients.values():
            client.close()


def _rows(samples: dict[str, Any], what: str, *, budgets: bool) -> list[Row]:
    bare = samples["bare"].median()
    rows = [
        Row(
            SECTION,
            f"{what}, uninstrumented",
            bare / 1000,
            "us CPU/request",
            _spread(samples["bare"]),
        )
    ]
    for key, name, limit in (
        ("instrumented", "instrument() active, no experiment", 1.02),
        ("chaos", "ChaosTransport not firing", 1.05),
    ):
        value = samples[key].median()
        added = (value - bare) / 1000
        rows.append(
            Row(
                SECTION,
                f"{what}, {name}",
                value / 1000,
                "us CPU/request",
                _spread(samples[key]),
                ratio=_median_ratio(samples, key, "bare"),
                floor="uninstrumented (median of per-round ratios)",
                budget=Budget(limit, f"<= {limit}x uninstrumented") if budgets else None,
                note="" if budgets else f"adds {added:+.1f} us",
            )
        )
    return rows


def _spread(sample: Any) -> str:
    p25, p75 = sample.quartiles()
    return f"{p25 / 1000:.1f}-{p75 / 1000:.1f}"
