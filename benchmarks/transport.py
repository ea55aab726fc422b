"""The HTTP transport's cost on a real loopback request to ``ProviderServer``.

Two budgets (issue 13), each a ratio within one run of interleaved rounds:

- ``instrument()`` active with no experiment running, against the same request uninstrumented:
  at most 1.02x (wrapt's ``enabled=`` gate reads ``state.routing`` in C and calls the original
  method directly);
- a ``ChaosTransport`` whose fault never fires, against the bare ``HTTPTransport`` it wraps:
  at most 1.05x (it names the request by its route and lets the engine decide, each request).

Each sample is a burst of keep-alive ``GET /v1/models`` requests from one ``httpx2.Client``
(the SDKs' library); the server runs in this process, as in the tests.
"""

from __future__ import annotations

import itertools
import statistics
import time
from collections.abc import Callable
from typing import Any

from .harness import Budget, Row, Variant, interleave

__all__ = ["run"]

SECTION = "HTTP transport"


def _timer(client: Any, url: str, setup: Callable[[], None], teardown: Callable[[], None]) -> Any:
    get = client.get

    def timer(n: int) -> int:
        setup()
        try:
            it = itertools.repeat(None, n)
            t0 = time.perf_counter_ns()
            for _ in it:
                get(url)
            return time.perf_counter_ns() - t0
        finally:
            teardown()

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
        from aumai_chaos.transport import ChaosTransport, instrument, uninstrument
    except ImportError as exc:
        return [Row(SECTION, "transport", note=f"unavailable: {exc}")]

    def nothing() -> None:
        return None

    never = RateLimitFault(probability=0.0)
    rows: list[Row] = []
    with ProviderServer() as server:
        url = f"{server.url}/v1/models"
        clients = {
            "bare": httpx2.Client(transport=httpx2.HTTPTransport()),
            "instrumented": httpx2.Client(transport=httpx2.HTTPTransport()),
            "chaos": httpx2.Client(
                transport=ChaosTransport(httpx2.HTTPTransport(), faults=[never], seed=1)
            ),
        }
        try:
            samples = interleave(
                [
                    Variant("bare", _timer(clients["bare"], url, nothing, nothing)),
                    Variant(
                        "instrumented",
                        _timer(clients["instrumented"], url, instrument, uninstrument),
                    ),
                    Variant("chaos", _timer(clients["chaos"], url, nothing, nothing)),
                ],
                rounds=5 if quick else 101,
                target_ns=5_000_000 if quick else 20_000_000,
            )
        finally:
            uninstrument()
            for client in clients.values():
                client.close()
    rows += _rows(samples, "loopback GET to ProviderServer", budgets=True)

    # The same three without the network: what each adds in CPU per request.
    stubbed = {}
    for key in ("bare", "instrumented", "chaos"):
        inner = httpx2.HTTPTransport()
        inner._pool = _StubPool(httpcore2)
        transport = ChaosTransport(inner, faults=[never], seed=1) if key == "chaos" else inner
        stubbed[key] = httpx2.Client(transport=transport)
    try:
        samples = interleave(
            [
                Variant("bare", _timer(stubbed["bare"], url, nothing, nothing)),
                Variant(
                    "instrumented", _timer(stubbed["instrumented"], url, instrument, uninstrument)
                ),
                Variant("chaos", _timer(stubbed["chaos"], url, nothing, nothing)),
            ],
            rounds=5 if quick else 31,
            target_ns=2_000_000 if quick else 20_000_000,
        )
    finally:
        uninstrument()
        for client in stubbed.values():
            client.close()
    rows += _rows(samples, "GET answered in-process (no network)", budgets=False)
    return rows


def _rows(samples: dict[str, Any], what: str, *, budgets: bool) -> list[Row]:
    bare = samples["bare"].median()
    rows = [
        Row(SECTION, f"{what}, uninstrumented", bare / 1000, "us/request", _spread(samples["bare"]))
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
                "us/request",
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
