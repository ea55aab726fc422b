"""``python -m benchmarks [--quick] [--enforce] [--only SECTION ...] [--output PATH]
[--soak-seconds S]``.

Prints the markdown report and writes it to ``--output``. Every budget is evaluated and FAIL rows
are marked. Most budgets are only reported: on a shared machine they vary with the load. The
budgets that are stable on a shared 2-core machine carry a tolerance and are *enforced* with
``--enforce`` (CI runs ``make bench-quick``, which passes it): the idle paths (their ratio to the
floor measured in the same interleaved run, +25%), abort time (+50%), the observer's memory
bound (exact count; RSS growth +50%), the 1,000-coroutine concurrency run (+50%) and, with
``--quick``, a 45 s soak's RSS growth (+50%; the full soak runs 600 s and only reports). With
``--enforce`` the exit code is 1 when one of them is missed, or was not measured. Without it, the
exit code is non-zero only when a section itself crashes.
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from . import (
    concurrency,
    latency,
    mcp_client,
    observer,
    peers,
    percall,
    proxy,
    report,
    soak,
    streams,
    transport,
)
from .harness import Row

SECTIONS = (
    "percall",
    "peers",
    "latency",
    "abort",
    "observer",
    "concurrency",
    "transport",
    "streams",
    "proxy",
    "mcp",
    "soak",
)
DEFAULT_OUTPUT = Path(__file__).resolve().parent / "results" / "latest.md"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="aumai-chaos overhead benchmarks: a markdown table of costs and budgets.",
    )
    p.add_argument("--quick", action="store_true", help="few iterations, a 45 s soak (CI)")
    p.add_argument(
        "--enforce",
        action="store_true",
        help="exit 1 when a budget that is stable on a shared machine is missed (CI)",
    )
    p.add_argument("--only", nargs="+", choices=SECTIONS, metavar="NAME", help=", ".join(SECTIONS))
    p.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="markdown report path")
    p.add_argument(
        "--soak-seconds",
        type=float,
        default=None,
        help="length of the soak (default 600 s, with --quick 45 s)",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    chosen = set(args.only or SECTIONS)
    info = report.machine()
    rows: list[Row] = []
    notes: list[str] = []
    crashed: list[str] = []
    started = time.monotonic()

    def section(name: str, fn: Callable[[], list[Row]]) -> None:
        if name not in chosen:
            return
        t0 = time.monotonic()
        print(f"[bench] {name} ...", file=sys.stderr, flush=True)
        try:
            rows.extend(fn())
        except Exception:
            crashed.append(name)
            traceback.print_exc()
            rows.append(Row(name, name, note="unavailable: crashed, see stderr"))
        print(f"[bench] {name} done in {time.monotonic() - t0:.1f} s", file=sys.stderr, flush=True)

    mode_holder: list[str] = []

    def per_call() -> list[Row]:
        out, how = percall.run(
            quick=args.quick, ours="percall" in chosen, with_peers="peers" in chosen
        )
        mode_holder.append(how)
        return out

    section("percall" if "percall" in chosen else "peers", per_call)
    section("latency", lambda: latency.accuracy(quick=args.quick))
    section("abort", lambda: latency.abort(quick=args.quick))
    section("observer", lambda: observer.run(quick=args.quick))
    section("concurrency", lambda: concurrency.run(quick=args.quick))
    section("transport", lambda: transport.run(quick=args.quick))
    section("streams", lambda: streams.run(quick=args.quick))
    section("proxy", lambda: proxy.run(quick=args.quick))
    section("mcp", lambda: mcp_client.run(quick=args.quick))
    if args.quick:
        seconds = args.soak_seconds or soak.QUICK_SECONDS
        warmup = min(soak.QUICK_WARMUP, seconds / 3)
        section("soak", lambda: soak.run(seconds=seconds, warmup=warmup, enforce=args.enforce))
    else:
        section("soak", lambda: soak.run(seconds=args.soak_seconds or 600.0))
    if "soak" not in chosen:
        notes.append("The soak did not run (`--only` left it out).")
    if mode_holder:
        notes.append(f"Experiments were run through {mode_holder[0]}.")
    notes.append(f"Whole run: {time.monotonic() - started:.0f} s.")
    info["load average at end"] = report.machine()["load average (1/5/15 min) at start"]
    head = report.header(
        "quick (numbers not meant to be read)" if args.quick else "full",
        info,
        report.versions(peers.versions()),
        notes,
    )
    text = report.render(head, rows)
    print(text)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    print(f"[bench] wrote {args.output}", file=sys.stderr)
    if crashed:
        return 1
    if args.enforce:
        missed = report.missed_enforced(rows)
        for row in missed:
            print(f"[bench] enforced budget missed: {row.name}", file=sys.stderr)
        if missed:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
