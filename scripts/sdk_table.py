"""The docs' tables of what each SDK raises for each stream fault, from live observations.

``make docs-sdk-table`` (``python -m scripts.sdk_table``) provokes every case with the installed
``openai`` and ``anthropic`` SDKs against ``ProviderServer`` on loopback, the way the tests do
(``tests/sdk_observe.py``): the real failure (the server resets, closes or stalls the socket)
and, for the transport's faults, the injected one. It writes the tables between the
``<!-- sdk-table:NAME -->`` and ``<!-- /sdk-table -->`` markers of the docs, naming the versions,
and the versions line between README's ``<!-- sdk-versions -->`` markers.
``tests/test_sdk_table.py`` fails when the committed tables differ from what this gives now.
``--check`` only compares: exit 1 and the differing block when the docs are stale.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

from tests.sdk_observe import SDK, TEXT, Mode, Observed, base_url, observe, observe_json

from aumai_chaos.faults import FaultConfig
from aumai_chaos.testing import CutStream, ProviderServer, StallStream, TextReply

__all__ = ["BLOCKS", "current_block", "render", "render_versions", "replace_block", "versions_line"]

ROOT = Path(__file__).resolve().parent.parent
SDKS: tuple[SDK, ...] = ("openai", "anthropic")
MODES: tuple[Mode, ...] = ("sync", "async")
#: The stall is past the client's read timeout: this short.
TIMEOUT_S = 0.3
AFTER = 3


def versions_line() -> str:
    names = ("openai", "anthropic", "httpx2", "httpx")
    return ", ".join(f"{n} {version(n)}" for n in names)


def _shown(observed: Observed) -> str:
    if not observed.error:
        return "no error"
    return " from ".join(f"`{kind}`" for kind in observed.visible)


def _cell(by_mode: dict[str, Observed]) -> str:
    shown = {mode: _shown(o) for mode, o in by_mode.items()}
    if len(set(shown.values())) == 1:
        return next(iter(shown.values()))
    return "; ".join(f"{mode}: {text}" for mode, text in shown.items())


def _streams_table() -> list[str]:
    """Per transport stream fault and SDK: what the SDK raised (the real socket failure), and
    whether the injected fault raised the same after the same events."""
    cases: list[tuple[str, CutStream | StallStream, FaultConfig, float]] = [
        ("`stream_cut`", CutStream(AFTER, reset=True), _fault("stream_cut"), 5.0),
        (
            "`stream_stall` past the read timeout",
            StallStream(AFTER, 30.0),
            _fault("stream_stall", duration_ms=30_000),
            TIMEOUT_S,
        ),
    ]
    rows = [
        "| fault | `openai`, streamed | `anthropic`, streamed | injected = real |",
        "|---|---|---|---|",
    ]
    with ProviderServer() as server:
        for label, disrupt, fault, timeout in cases:
            cells: list[str] = []
            same = True
            for sdk in SDKS:
                real: dict[str, Observed] = {}
                for mode in MODES:
                    server.script([TextReply(TEXT, disrupt=disrupt)])
                    real[mode] = observe(sdk, mode, base_url(sdk, server), timeout=timeout)
                    server.script([TextReply(TEXT)])
                    injected = observe(sdk, mode, base_url(sdk, server), [fault], timeout=timeout)
                    same &= (injected.visible, injected.received) == (
                        real[mode].visible,
                        real[mode].received,
                    )
                cells.append(_cell(real))
            rows.append(f"| {label} | {' | '.join(cells)} | {'yes' if same else 'NO'} |")
    return rows


def _fault(kind: str, **fields: Any) -> FaultConfig:
    return FaultConfig(fault_type=kind, after_chunks=AFTER, **fields)


def _server_table() -> list[str]:
    """Per ``ProviderServer`` disruption: what each SDK raised, streamed and not."""
    cases: list[tuple[str, CutStream | StallStream, float]] = [
        ("`CutStream(reset=True)`", CutStream(AFTER, reset=True), 5.0),
        ("`CutStream(reset=False)`", CutStream(AFTER, reset=False), 5.0),
        ("`StallStream` longer than the read timeout", StallStream(AFTER, 30.0), TIMEOUT_S),
    ]
    rows = [
        "| the server | `openai`, streamed | `anthropic`, streamed "
        "| `openai`, not streamed | `anthropic`, not streamed |",
        "|---|---|---|---|---|",
    ]
    with ProviderServer() as server:
        for label, disrupt, timeout in cases:
            cells: list[str] = []
            for sdk in SDKS:
                by_mode: dict[str, Observed] = {}
                for mode in MODES:
                    server.script([TextReply(TEXT, disrupt=disrupt)])
                    by_mode[mode] = observe(sdk, mode, base_url(sdk, server), timeout=timeout)
                cells.append(_cell(by_mode))
            for sdk in SDKS:
                server.script([TextReply(TEXT, disrupt=disrupt)])
                cells.append(_shown(observe_json(sdk, base_url(sdk, server), timeout=timeout)))
            rows.append(f"| {label} | {' | '.join(cells)} |")
    return rows


#: block name -> (file, what makes its table)
BLOCKS: dict[str, tuple[Path, Callable[[], list[str]]]] = {
    "streams": (ROOT / "docs" / "streams-and-output.md", _streams_table),
    "server": (ROOT / "docs" / "testing-server.md", _server_table),
}
VERSIONS_FILE = ROOT / "README.md"


def render(name: str) -> str:
    """The block ``name`` as it should read now: the versions line, then the table."""
    table = BLOCKS[name][1]()
    head = (
        f"Observed with {versions_line()} by `make docs-sdk-table`; sync and async alike "
        "unless a cell says otherwise."
    )
    return "\n".join([head, "", *table])


def render_versions() -> str:
    return f"The SDK behaviour in the docs was last verified with {versions_line()}."


def _pattern(name: str) -> re.Pattern[str]:
    end = re.escape(name.split(":")[0])
    return re.compile(rf"(<!-- {re.escape(name)} -->\n)(.*?)(<!-- /{end} -->)", re.S)


def replace_block(text: str, marker: str, body: str) -> str:
    """``text`` with the block between ``<!-- marker -->`` and its end marker replaced."""
    pattern = _pattern(marker)
    if not pattern.search(text):
        raise ValueError(f"no <!-- {marker} --> block")
    return pattern.sub(lambda m: m[1] + body + "\n" + m[3], text, count=1)


def current_block(text: str, marker: str) -> str:
    found = _pattern(marker).search(text)
    if found is None:
        raise ValueError(f"no <!-- {marker} --> block")
    return found[2].removesuffix("\n")


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = False
    updates: list[tuple[Path, str, str]] = [
        (path, f"sdk-table:{name}", render(name)) for name, (path, _) in BLOCKS.items()
    ]
    if not check:
        updates.append((VERSIONS_FILE, "sdk-versions", render_versions()))
    for path, marker, body in updates:
        text = path.read_text(encoding="utf-8")
        if check:
            if current_block(text, marker) != body:
                stale = True
                sys.stdout.write(f"{path.relative_to(ROOT)} ({marker}) should read:\n{body}\n")
            continue
        path.write_text(replace_block(text, marker, body), encoding="utf-8")
        sys.stderr.write(f"wrote {path.relative_to(ROOT)} ({marker})\n")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
