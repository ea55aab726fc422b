"""The nearest peers on PyPI, timed in the same interleaved run as our rows.

The peers are pinned in ``benchmarks/requirements-peers.txt`` and installed with
``pip install --no-deps --target benchmarks/.peers`` (``make bench`` does it), never into the
project's virtual environment: agentic-chaos registers a pytest plugin (``pytest11`` entry
point) that would otherwise load into every test run. Their own dependencies (pydantic, rich,
typer) are ours too. A peer that is missing or fails to import is reported as unavailable, with
the reason, instead of failing the run.
"""

from __future__ import annotations

import contextlib
import functools
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from .harness import Row, Sample, Variant, call_ns, method_ns, percentile
from .variants import Shape

__all__ = ["PEERS", "PEERS_DIR", "PeerVariant", "rows", "variants", "versions"]

SECTION = "Peers (same run)"
PEERS_DIR = Path(__file__).resolve().parent / ".peers"
PEERS = ("agentic-chaos", "chaosinjector")
SYNC_FN = Shape(False, False)
SYNC_METHOD = Shape(True, False)


@dataclass
class PeerVariant:
    variant: Variant
    shape: Shape
    name: str


def _use_peers_dir() -> None:
    if PEERS_DIR.is_dir() and str(PEERS_DIR) not in sys.path:
        sys.path.append(str(PEERS_DIR))  # after our own site-packages: ours win on overlap


def versions() -> dict[str, str]:
    _use_peers_dir()
    out = {}
    for name in PEERS:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def _body() -> int:
    return 1


def _agentic_chaos() -> list[PeerVariant]:
    from agentic_chaos import ToolCallFailureFault, chaos_call, chaos_session, wrap_tool

    tool = "bench_tool"

    def in_session(fault_factory: Callable[[], Any], f: Callable[[], Any]) -> Callable[[int], int]:
        def timer(n: int) -> int:
            with chaos_session([fault_factory()]):
                return call_ns(f, n)

        return timer

    def p0() -> Any:
        return ToolCallFailureFault(tool_name=tool, probability=0.0)

    def elsewhere() -> Any:
        return ToolCallFailureFault(tool_name="another_tool", probability=1.0)

    call = functools.partial(chaos_call, _body, step_name=tool)
    wrapped = wrap_tool(_body, tool_name=tool)
    spec = [
        ("ac_call", "agentic-chaos chaos_call, no session", lambda n: call_ns(call, n)),
        ("ac_call_p0", "agentic-chaos chaos_call, session, fault p=0", in_session(p0, call)),
        ("ac_tool", "agentic-chaos wrap_tool, no session", lambda n: call_ns(wrapped, n)),
        (
            "ac_tool_other",
            "agentic-chaos wrap_tool, session, fault on another tool",
            in_session(elsewhere, wrapped),
        ),
        ("ac_tool_p0", "agentic-chaos wrap_tool, session, fault p=0", in_session(p0, wrapped)),
    ]
    return [PeerVariant(Variant(f"{k}/sf", t), SYNC_FN, name) for k, name, t in spec]


def _chaosinjector() -> list[PeerVariant]:
    from chaosinjector import ChaosInjector

    class Service:
        def m(self) -> int:
            return 1

    # probability is the chance of using the real attribute: 1.0 never injects, yet draws.
    proxy = ChaosInjector.create_proxy(Service(), probability=1.0)
    return [
        PeerVariant(
            Variant("ci_proxy/sm", lambda n: method_ns(proxy, n)),
            SYNC_METHOD,
            "chaosinjector create_proxy, p(real)=1, method",
        )
    ]


def variants() -> Iterator[PeerVariant | Row]:
    """The peers' variants, or an 'unavailable' row per peer that cannot be used."""
    _use_peers_dir()
    for name, build in (("agentic-chaos", _agentic_chaos), ("chaosinjector", _chaosinjector)):
        try:
            with contextlib.redirect_stdout(sys.stderr):
                built = build()
        except Exception as exc:
            reason = f"{type(exc).__name__}: {exc}".splitlines()[0][:160]
            if not PEERS_DIR.is_dir():
                reason = "not installed (`make bench` installs benchmarks/requirements-peers.txt)"
            yield Row(SECTION, name, note=f"unavailable: {reason}")
            continue
        yield from built


NAMES = {
    "ac_call": "agentic-chaos chaos_call, no session",
    "ac_call_p0": "agentic-chaos chaos_call, session, fault p=0",
    "ac_tool": "agentic-chaos wrap_tool, no session",
    "ac_tool_other": "agentic-chaos wrap_tool, session, fault on another tool",
    "ac_tool_p0": "agentic-chaos wrap_tool, session, fault p=0",
    "ci_proxy": "chaosinjector create_proxy, p(real)=1 — sync method",
}


def rows(samples: dict[str, Sample], net: dict[str, list[float]], extra: list[Row]) -> list[Row]:
    """Rows for the peers' samples, as ratios to our floors of the same shape."""
    out: list[Row] = []
    for key, label in NAMES.items():
        slug = "sm" if key == "ci_proxy" else "sf"
        full = f"{key}/{slug}"
        if full not in net:
            continue
        floor, floor_key = (
            ("wrapt", "wrapt/sm") if slug == "sm" else ("functools.wraps", "wraps/sf")
        )
        med = percentile(net[full], 50)
        base = percentile(net[floor_key], 50) if floor_key in net else None
        out.append(
            Row(
                SECTION,
                label if slug == "sm" else f"{label} — sync function",
                med,
                spread=f"{percentile(net[full], 25):.0f}-{percentile(net[full], 75):.0f}",
                ratio=med / base if base else None,
                floor=floor,
                budget=None,
            )
        )
    out.extend(extra)
    return out
