"""MCP over streamable HTTP passes through the proxy: the real ``mcp`` client and server, the
session header, the event-stream answers and the session's end. Each JSON-RPC request is the
component ``aumai_chaos.mcp`` names (``tools/call`` is ``mcp.tool.<name>``), so objectives judge
a tool's calls; an HTTP fault on every component reaches the MCP client as a real 503 does."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import uvicorn
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.server.mcpserver import MCPServer

from tests.proxy.support import NO_FAULT, proxy, result_of, write_experiment

FAILING = """\
experiment_id: proxy-mcp
name: MCP through the proxy
duration_seconds: {duration}
faults:
  - fault_type: http_error
    status_code: 503
"""


@contextmanager
def mcp_server() -> Iterator[str]:
    """A real ``MCPServer`` over streamable HTTP on 127.0.0.1; yields its base URL."""
    server = MCPServer("docs")

    @server.tool()
    def search_docs(query: str) -> str:
        """Search the docs."""
        return f"3 pages about {query}"

    config = uvicorn.Config(
        server.streamable_http_app(), host="127.0.0.1", port=0, log_level="critical", lifespan="on"
    )
    web = uvicorn.Server(config)
    thread = threading.Thread(target=web.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not web.started:
        assert time.monotonic() < deadline, "the MCP server did not start"
        assert thread.is_alive(), "the MCP server did not start"
        time.sleep(0.01)
    port = web.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        web.should_exit = True
        thread.join(10)


async def _session(url: str) -> list[Any]:
    out: list[Any] = []
    async with (
        streamable_http_client(url) as streams,
        ClientSession(streams[0], streams[1]) as session,
    ):
        await session.initialize()
        tools = await session.list_tools()
        out.append(sorted(t.name for t in tools.tools))
        for _ in range(2):
            try:
                result = await session.call_tool("search_docs", {"query": "chaos"})
                out.append(result.content[0].text)  # type: ignore[union-attr]
            except Exception as exc:
                out.append(type(exc).__name__)
    return out


def test_an_mcp_session_passes_through(tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    with (
        mcp_server() as base,
        proxy(write_experiment(tmp_path, NO_FAULT), f"tools={base}", output=out) as run,
    ):
        got = asyncio.run(_session(run.url + "/tools/mcp"))
    assert got == [["search_docs"], "3 pages about chaos", "3 pages about chaos"]
    components = result_of(out)["summary"]["components"]
    # Each JSON-RPC request is the component aumai_chaos.mcp names; the session's other
    # requests (the notification, its GET stream and DELETE) are the host's.
    assert components["mcp.tool.search_docs"]["calls"] == 2
    assert components["mcp.tools.list"]["calls"] == 1
    assert components["mcp.initialize"]["calls"] == 1
    assert components["127.0.0.1"]["calls"] >= 1


def _failure(url: str) -> BaseException:
    try:
        asyncio.run(_session(url))
    except BaseException as exc:  # the SDK's error, in anyio's exception group
        return exc
    raise AssertionError("the session did not fail")


def _leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in _leaves(inner)]
    return [exc]


@contextmanager
def unavailable() -> Iterator[str]:
    """A real server that answers every request 503: what the fault stands for."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length") or 0))
            self.send_response(503)
            self.send_header("content-length", "0")
            self.end_headers()

        do_GET = do_DELETE = do_POST  # noqa: N815 - http.server names its handlers so

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def test_a_transport_fault_on_the_mcp_server_reaches_the_mcp_client(tmp_path: Path) -> None:
    with unavailable() as down:
        real = _leaves(_failure(down + "/mcp"))
    with mcp_server() as base, proxy(write_experiment(tmp_path, FAILING), base) as run:
        direct = asyncio.run(_session(base + "/mcp"))
        injected = _leaves(_failure(run.url + "/mcp"))
    assert direct == [["search_docs"], "3 pages about chaos", "3 pages about chaos"]
    assert [(type(e), str(e)) for e in injected] == [(type(e), str(e)) for e in real]


TOOL_OBJECTIVE = """\
experiment_id: proxy-mcp-tool
name: An MCP tool's calls through the proxy, judged
duration_seconds: {duration}
steady_state:
  - component: mcp.tool.search_docs
    max_error_rate: 0.0
    min_calls: 2
"""


def test_a_tool_call_is_the_component_mcp_tool_name(tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    with (
        mcp_server() as base,
        proxy(write_experiment(tmp_path, TOOL_OBJECTIVE), base, output=out) as run,
    ):
        got = asyncio.run(_session(run.url + "/mcp"))
        code = run.stop()
    assert got == [["search_docs"], "3 pages about chaos", "3 pages about chaos"]
    result = result_of(out)
    assert result["summary"]["components"]["mcp.tool.search_docs"]["calls"] == 2
    assert [o["passed"] for o in result["objectives"]] == [True, True]
    assert code == 130  # Ctrl-C: aborted, whatever the objectives say
