"""Client-side MCP faults, each compared with the real failure provoked in the same test, over
the real ``mcp`` client and a real ``MCPServer``: a subprocess over stdio, uvicorn on
127.0.0.1 (streamable HTTP), the in-memory transport, and the in-process ``Client(server)``
(the SDK's modern protocol on a ``DirectDispatcher`` pair)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from mcp.shared.direct_dispatcher import DirectDispatcher
from mcp.shared.exceptions import MCPError
from mcp.shared.jsonrpc_dispatcher import JSONRPCDispatcher

import aumai_chaos
from aumai_chaos import mcp as chaos_mcp
from tests.mcp.support import TRANSPORTS, connect, texts

pytestmark = pytest.mark.asyncio
QUERY = {"query": "retries"}


def _originals() -> tuple[Any, Any, Any]:
    return (
        JSONRPCDispatcher.__dict__["send_raw_request"],
        JSONRPCDispatcher.__dict__["_write"],
        DirectDispatcher.__dict__["send_raw_request"],
    )


def block(*faults: dict[str, Any], components: list[str], **fields: Any) -> Any:
    return aumai_chaos.experiment(
        faults=list(faults), target_components=components, require_faults_fired=False, **fields
    )


async def _error(coro: Any) -> MCPError:
    with pytest.raises(MCPError) as caught:
        await coro
    return caught.value


async def test_instrument_wraps_the_dispatcher_and_uninstrument_restores_it() -> None:
    before = _originals()
    chaos_mcp.instrument()
    assert chaos_mcp.is_instrumented()
    chaos_mcp.instrument()  # idempotent: no second layer
    for patched, original in zip(_originals(), before, strict=True):
        assert patched is not original
        assert patched.__wrapped__ is original
    chaos_mcp.uninstrument()
    assert not chaos_mcp.is_instrumented()
    assert _originals() == before
    chaos_mcp.uninstrument()
    assert _originals() == before


@pytest.mark.usefixtures("instrumented")
async def test_without_an_experiment_a_request_passes_untouched() -> None:
    async with connect("memory") as session:
        result = await session.call_tool("search_docs", QUERY)
    assert texts(result) == ["3 pages about retries"]


@pytest.mark.usefixtures("instrumented")
@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_mcp_tool_error_is_a_tool_that_raised(transport: str) -> None:
    async with connect(transport) as session:
        real = await session.call_tool("broken", {})
        async with block({"fault_type": "mcp_tool_error"}, components=["mcp.tool.search_docs"]):
            injected = await session.call_tool("search_docs", QUERY)
        after = await session.call_tool("search_docs", QUERY)
    assert real.is_error
    assert injected.is_error
    assert injected.model_dump() == {
        **real.model_dump(),
        "content": [
            {**c, "text": c["text"].replace("broken", "search_docs")}
            for c in real.model_dump()["content"]
        ],
    }
    assert texts(injected) == ["Error executing tool search_docs"]
    assert not after.is_error  # the session goes on, as after a real tool error


@pytest.mark.usefixtures("instrumented")
@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_tool_vanished_is_an_unknown_tool(transport: str) -> None:
    async with connect(transport) as session:
        real = await session.call_tool("search_docz", QUERY)
        listed = {t.name for t in (await session.list_tools()).tools}
        vanished = {"fault_type": "tool_vanished", "tool_name": "search_docs"}
        async with block(vanished, components=["mcp.tool.search_docs", "mcp.tools.list"]):
            injected = await session.call_tool("search_docs", QUERY)
            without = {t.name for t in (await session.list_tools()).tools}
    assert real.is_error
    assert texts(real) == ["Unknown tool: search_docz"]
    assert injected.model_dump() == {
        **real.model_dump(),
        "content": [{**real.model_dump()["content"][0], "text": "Unknown tool: search_docs"}],
    }
    assert without == listed - {"search_docs"}


@pytest.mark.usefixtures("instrumented")
@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_jsonrpc_error_is_the_sdks_own_error(transport: str) -> None:
    async with connect(transport) as session:
        real = await _error(session.read_resource("docs://missing"))
        fault = {
            "fault_type": "jsonrpc_error",
            "error_code": real.error.code,
            "error_message": real.error.message,
        }
        async with block(fault, components=["mcp.resources.read"]):
            injected = await _error(session.read_resource("docs://readme"))
        after = await session.read_resource("docs://readme")
    assert type(injected) is type(real)
    assert (injected.error.code, injected.error.message) == (-32602, real.error.message)
    assert after.contents[0].text == "read me"  # type: ignore[union-attr]


@pytest.mark.usefixtures("instrumented")
@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_mcp_timeout_is_the_clients_own_timeout(transport: str) -> None:
    async with connect(transport) as session:
        real = await _error(session.call_tool("slow", {"seconds": 5}, read_timeout_seconds=0.3))
        async with block({"fault_type": "mcp_timeout"}, components=["mcp.tool.search_docs"]):
            injected = await _error(
                session.call_tool("search_docs", QUERY, read_timeout_seconds=0.3)
            )
        # without a client timeout: after duration_ms, the same failure
        quick = {"fault_type": "mcp_timeout", "duration_ms": 200}
        async with block(quick, components=["mcp.tool.search_docs"]):
            t0 = time.monotonic()
            unbounded = await _error(session.call_tool("search_docs", QUERY))
            waited = time.monotonic() - t0
        after = await session.call_tool("search_docs", QUERY)
    assert type(injected) is type(real)
    assert (injected.error.code, injected.error.message) == (real.error.code, real.error.message)
    # as if the client had given 0.2 s (the direct path's message names the timeout)
    assert type(unbounded) is type(real)
    assert (unbounded.error.code, unbounded.error.message) == (
        real.error.code,
        real.error.message.replace("0.3s", "0.2s"),
    )
    assert real.error.code == -32001
    assert waited >= 0.2
    assert texts(after) == ["3 pages about retries"]  # the session still works


@pytest.mark.usefixtures("instrumented")
async def test_mcp_disconnect_is_a_server_that_died() -> None:
    async with connect("stdio") as session:
        real = await _error(session.call_tool("die", {}))
        real_after = await _error(session.call_tool("search_docs", QUERY))
    async with connect("stdio") as session:
        async with block({"fault_type": "mcp_disconnect"}, components=["mcp.tool.search_docs"]):
            injected = await _error(session.call_tool("search_docs", QUERY))
        # after the experiment, the session stays closed, as after a real death
        injected_after = await _error(session.call_tool("search_docs", QUERY))
    for real_error, error in ((real, injected), (real_after, injected_after)):
        assert type(error) is type(real_error)
        assert (error.error.code, error.error.message) == (-32000, real_error.error.message)


@pytest.mark.usefixtures("instrumented")
@pytest.mark.parametrize("transport", ["memory", "http"])
async def test_mcp_disconnect_closes_every_transport(transport: str) -> None:
    async with connect(transport) as session:
        async with block({"fault_type": "mcp_disconnect"}, components=["mcp.tool.*"]):
            first = await _error(session.call_tool("search_docs", QUERY))
        later = await _error(session.list_tools())
    assert first.error.code == later.error.code == -32000


@pytest.mark.usefixtures("instrumented")
async def test_latency_runs_on_the_sdks_request_clock() -> None:
    async with connect("memory") as session:
        slow = {"fault_type": "latency", "duration_ms": 250}
        async with block(slow, components=["mcp.tool.search_docs"]):
            t0 = time.monotonic()
            result = await session.call_tool("search_docs", QUERY)
            waited = time.monotonic() - t0
            real = await _error(session.call_tool("slow", {"seconds": 5}, read_timeout_seconds=0.1))
            late = await _error(session.call_tool("search_docs", QUERY, read_timeout_seconds=0.1))
    assert texts(result) == ["3 pages about retries"]
    assert waited >= 0.25
    # a delay longer than the client's timeout is a timeout, as a slow server's is
    assert (late.error.code, late.error.message) == (real.error.code, real.error.message)


@pytest.mark.usefixtures("instrumented")
async def test_output_faults_cut_the_tools_result_and_keep_its_schema() -> None:
    async with connect("memory") as session:
        real = await session.call_tool("stats", {"n": 4})
        async with block({"fault_type": "empty_output"}, components=["mcp.tool.stats"]):
            empty = await session.call_tool("stats", {"n": 4})
        cut = {"fault_type": "truncated_output", "keep_fraction": 0.5}
        async with block(cut, components=["mcp.tool.stats"]):
            half = await session.call_tool("stats", {"n": 4})
    assert real.structured_content == {"title": "xxxx", "pages": [0, 1, 2, 3]}
    assert not empty.is_error
    assert empty.content == []
    assert empty.structured_content == {"title": "", "pages": []}
    assert half.structured_content == {"title": "xx", "pages": [0, 1]}
    (text,) = texts(half)
    assert text == texts(real)[0][: len(texts(real)[0]) // 2]


@pytest.mark.usefixtures("instrumented")
async def test_a_server_qualifier_targets_one_of_two_servers_with_the_same_tool() -> None:
    fault = {"fault_type": "mcp_tool_error", "server": "wiki"}
    async with (
        connect("memory", "docs") as docs,
        connect("memory", "wiki") as wiki,
        block(fault, components=["mcp.tool.search_docs"]) as exp,
    ):
        from_docs = await docs.call_tool("search_docs", QUERY)
        from_wiki = await wiki.call_tool("search_docs", QUERY)
        fired = exp.fired("mcp.tool.search_docs")
    assert not from_docs.is_error
    assert from_wiki.is_error
    assert fired == 1


@pytest.mark.usefixtures("instrumented")
@pytest.mark.parametrize(
    "fault",
    [
        {"fault_type": "truncated_output", "keep_fraction": 0.5, "server": "wi*"},
        {"fault_type": "empty_output", "server": "wiki"},
        {"fault_type": "latency", "duration_ms": 10_000, "server": "wiki"},
    ],
    ids=["truncated_output", "empty_output", "latency"],
)
async def test_server_narrows_latency_and_output_faults_to_one_server(
    fault: dict[str, Any],
) -> None:
    # The tool of the other server passes untouched (a latency of 10 s would trip the wiki
    # request's one-second timeout, and the docs request would never return in time).
    async with (
        connect("memory", "docs") as docs,
        connect("memory", "wiki") as wiki,
        block(fault, components=["mcp.tool.search_docs"]) as exp,
    ):
        real = await docs.call_tool("search_docs", QUERY, read_timeout_seconds=5.0)
        if fault["fault_type"] == "latency":
            error = await _error(wiki.call_tool("search_docs", QUERY, read_timeout_seconds=1.0))
            assert error.error.code == -32001
        else:
            faulted = await wiki.call_tool("search_docs", QUERY)
            assert faulted.model_dump() != real.model_dump()
        fired = exp.fired("mcp.tool.search_docs")
    assert texts(real) == ["3 pages about retries"]
    assert fired == 1


@pytest.mark.usefixtures("instrumented")
async def test_position_rules_and_seeded_replay_apply() -> None:
    async def pattern(seed: int) -> list[bool]:
        fault = {"fault_type": "mcp_tool_error", "probability": 0.5, "times": 3}
        async with (
            connect("memory") as session,
            block(fault, components=["mcp.tool.*"], seed=seed),
        ):
            return [(await session.call_tool("search_docs", QUERY)).is_error for _ in range(12)]

    first, again = await pattern(7), await pattern(7)
    assert first == again
    assert sum(first) == 3
    async with connect("memory") as session:
        every = {"fault_type": "jsonrpc_error", "every": 2, "after_calls": 1}
        async with block(every, components=["mcp.tool.search_docs"]):
            outcomes = []
            for _ in range(5):
                try:
                    await session.call_tool("search_docs", QUERY)
                    outcomes.append("ok")
                except MCPError:
                    outcomes.append("err")
    assert outcomes == ["ok", "err", "ok", "err", "ok"]


@pytest.mark.usefixtures("instrumented")
async def test_the_components_reached_are_reported() -> None:
    async with (
        connect("memory") as session,
        block({"fault_type": "mcp_tool_error"}, components=["mcp.*"]) as exp,
    ):
        await session.call_tool("search_docs", QUERY)
        await session.list_tools()
        snapshot = exp.snapshot()
    assert exp.fired("mcp.tool.search_docs") == 1
    assert exp.fired("mcp.tools.list") == 0  # a tool error has no meaning for a listing
    assert {"mcp.tool.search_docs", "mcp.tools.list"} <= set(snapshot.summary.components)


async def test_uninstrument_during_an_experiment_stops_every_fault() -> None:
    chaos_mcp.instrument()
    async with connect("memory") as session:
        fault = {"fault_type": "mcp_tool_error"}
        async with block(fault, components=["mcp.tool.*"]) as exp:
            assert (await session.call_tool("search_docs", QUERY)).is_error
            chaos_mcp.uninstrument()
            after = await session.call_tool("search_docs", QUERY)
            fired = exp.fired()
    assert not after.is_error
    assert fired == 1


@pytest.mark.usefixtures("instrumented")
async def test_tool_vanished_with_a_tool_name_spares_the_other_tools() -> None:
    fault = {"fault_type": "tool_vanished", "tool_name": "stats"}
    async with connect("memory") as session, block(fault, components=["mcp.tool.*"]) as exp:
        kept = await session.call_tool("search_docs", QUERY)
        gone = await session.call_tool("stats", {"n": 1})
        fired = exp.fired()
    assert not kept.is_error
    assert texts(gone) == ["Unknown tool: stats"]
    assert fired == 1


async def test_uninstrument_gives_the_direct_server_its_own_handler_back() -> None:
    chaos_mcp.instrument()
    fault = {"fault_type": "mcp_tool_error"}
    async with connect("direct") as session, block(fault, components=["mcp.tool.*"]):
        assert (await session.call_tool("search_docs", QUERY)).is_error
        peer = session._dispatcher._peer  # type: ignore[attr-defined]
        assert type(peer._on_request).__name__ == "Handler"
        chaos_mcp.uninstrument()
        assert type(peer._on_request).__name__ != "Handler"
        assert not (await session.call_tool("search_docs", QUERY)).is_error
