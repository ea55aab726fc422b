"""The MCP faults through the proxy: the real ``mcp`` client and a real ``MCPServer`` over
streamable HTTP (uvicorn on 127.0.0.1) behind ``aumai-chaos proxy``. Each fault is compared
with the real failure provoked through the same proxy in the same test: a tool that raises, an
unknown tool, a resource that is not there, a slow tool under ``read_timeout_seconds``, a
server process that dies."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from tests.mcp.server_app import build
from tests.proxy.support import proxy, result_of, write_experiment

QUERY = {"query": "chaos"}


@contextmanager
def docs_server(json_response: bool = False) -> Iterator[str]:
    """``tests.mcp.server_app``'s ``MCPServer`` over streamable HTTP; yields its base URL."""
    config = uvicorn.Config(
        build().streamable_http_app(json_response=json_response),
        host="127.0.0.1",
        port=0,
        log_level="critical",
        lifespan="on",
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


def _experiment(tmp_path: Path, fault: dict[str, Any], components: list[str]) -> Path:
    text = (
        "experiment_id: proxy-mcp-faults\nname: MCP faults through the proxy\n"
        "duration_seconds: {duration}\nfaults:\n  - "
        + json.dumps({**fault, "affected_components": components})
        .replace("{", "{{")
        .replace("}", "}}")
        + "\n"
    )
    return write_experiment(tmp_path, text)


Step = Callable[[ClientSession], Awaitable[Any]]


async def _session(url: str, steps: list[Step]) -> list[Any]:
    """Each step's value, or the MCPError it raised."""
    out: list[Any] = []
    async with (
        streamable_http_client(url) as streams,
        ClientSession(streams[0], streams[1]) as session,
    ):
        await session.initialize()
        for step in steps:
            try:
                out.append(await step(session))
            except MCPError as exc:
                out.append(exc)
    return out


def _through(
    tmp_path: Path,
    fault: dict[str, Any],
    components: list[str],
    steps: list[Step],
    json_response: bool = False,
) -> tuple[list[Any], dict[str, Any]]:
    out = tmp_path / "result.json"
    with (
        docs_server(json_response) as base,
        proxy(_experiment(tmp_path, fault, components), base, output=out) as run,
    ):
        got = asyncio.run(_session(run.url + "/mcp", steps))
    return got, result_of(out)


def _call(name: str, args: dict[str, Any], timeout: float | None = None) -> Step:
    return lambda s: s.call_tool(name, args, read_timeout_seconds=timeout)


def _shape(result: Any) -> tuple[Any, ...]:
    return (type(result), result.is_error, [c.type for c in result.content])


@pytest.mark.parametrize("json_response", [False, True], ids=["event-stream", "json"])
def test_mcp_tool_error_is_a_tool_that_raised(tmp_path: Path, json_response: bool) -> None:
    fault = {"fault_type": "mcp_tool_error", "times": 1}
    real, injected, after = _through(
        tmp_path,
        fault,
        ["mcp.tool.search_docs"],
        [_call("broken", {}), _call("search_docs", QUERY), _call("search_docs", QUERY)],
        json_response,
    )[0]
    assert _shape(injected) == _shape(real)
    assert real.is_error is True
    assert real.content[0].text.startswith("Error executing tool broken")
    assert injected.content[0].text == "Error executing tool search_docs"
    assert after.is_error is False
    assert after.content[0].text == "3 pages about chaos"


def test_tool_vanished_is_an_unknown_tool(tmp_path: Path) -> None:
    fault = {"fault_type": "tool_vanished", "tool_name": "search_docs"}
    (listed, real, injected, other), result = _through(
        tmp_path,
        fault,
        ["mcp.tool.search_docs", "mcp.tools.list"],
        [
            lambda s: s.list_tools(),
            _call("nope", {}),
            _call("search_docs", QUERY),
            _call("slow", {"seconds": 0}),
        ],
    )
    assert not isinstance(listed, MCPError), (listed, listed.error)
    names = sorted(t.name for t in listed.tools)
    assert names == ["broken", "die", "slow", "stats"], listed
    assert _shape(injected) == _shape(real)
    assert real.content[0].text == "Unknown tool: nope"
    assert injected.content[0].text == "Unknown tool: search_docs"
    assert other.content[0].text == "late"
    components = result["summary"]["components"]
    assert components["mcp.tool.search_docs"]["errors"] == 1
    assert result["summary"]["total_faults_fired"] == 2


def test_jsonrpc_error_is_the_servers_error(tmp_path: Path) -> None:
    # The code and message a real read of a missing resource gets, aimed at one that exists.
    fault = {"fault_type": "jsonrpc_error", "error_code": -32602, "times": 1, "after_calls": 1}
    real, injected, after = _through(
        tmp_path,
        {**fault, "error_message": "Unknown resource: docs://missing"},
        ["mcp.resources.read"],
        [
            lambda s: s.read_resource("docs://missing"),
            lambda s: s.read_resource("docs://readme"),
            lambda s: s.read_resource("docs://readme"),
        ],
    )[0]
    assert type(injected) is type(real) is MCPError
    assert (injected.error.code, injected.error.message) == (real.error.code, real.error.message)
    assert after.contents[0].text == "read me"


def test_mcp_timeout_is_the_clients_own_read_timeout(tmp_path: Path) -> None:
    fault = {"fault_type": "mcp_timeout", "times": 1}
    real, injected, after = _through(
        tmp_path,
        fault,
        ["mcp.tool.search_docs"],
        [
            _call("slow", {"seconds": 5}, timeout=0.5),
            _call("search_docs", QUERY, timeout=0.5),
            _call("search_docs", QUERY, timeout=10),
        ],
    )[0]
    assert type(injected) is type(real) is MCPError
    assert injected.error.code == real.error.code == -32001
    assert after.content[0].text == "3 pages about chaos"


DYING_SERVER = """
import sys, uvicorn
from tests.mcp.server_app import build
config = uvicorn.Config(build().streamable_http_app(json_response=JSON), host="127.0.0.1", port=0,
                        log_level="critical")
server = uvicorn.Server(config)
config.load()
import socket
sock = socket.socket()
sock.bind(("127.0.0.1", 0))
print(sock.getsockname()[1], flush=True)
server.run(sockets=[sock])
"""


@contextmanager
def dying_server(json_response: bool = False) -> Iterator[str]:
    """The same server in its own process, whose ``die`` tool ends the process mid-call."""
    code = f"JSON = {json_response}\n" + DYING_SERVER
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        url = f"http://127.0.0.1:{port}/mcp"
        deadline = time.monotonic() + 20
        while True:  # until it answers (bounded)
            try:
                import httpx

                httpx.get(url, timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the MCP server did not start"
                time.sleep(0.05)
        yield url
    finally:
        proc.kill()
        proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()


def test_mcp_disconnect_is_a_server_that_died(tmp_path: Path) -> None:
    # The server process that dies mid-call is reached directly: through the proxy, a real
    # upstream's death is the proxy's own 502, which says so.
    with dying_server() as url:
        [real] = asyncio.run(_session(url, [_call("die", {}, timeout=10)]))
    fault = {"fault_type": "mcp_disconnect", "times": 1}
    (injected, after), result = _through(
        tmp_path,
        fault,
        ["mcp.tool.search_docs"],
        [_call("search_docs", QUERY, timeout=10), _call("search_docs", QUERY, timeout=10)],
    )
    assert type(injected) is type(real) is MCPError, (real, injected)
    assert (injected.error.code, injected.error.message) == (real.error.code, real.error.message)
    assert real.error.code == -32000
    # The proxy's server lives on: the next request is answered, as by a restarted server.
    assert after.content[0].text == "3 pages about chaos"
    assert result["summary"]["total_faults_fired"] == 1
    assert result["summary"]["components"]["mcp.tool.search_docs"]["errors"] == 1


def _ended(url: str, tool: str) -> list[tuple[type[BaseException], str]]:
    """How a session whose first tool call loses its server ends: the leaves of the SDK's
    exception group (a JSON server sends nothing before the result, so nothing answers)."""
    try:
        asyncio.run(_session(url, [_call(tool, {"query": "x"}, timeout=10)]))
    except BaseException as exc:
        return [(type(e), str(e)) for e in _leaves(exc)]
    raise AssertionError("the session did not fail")


def _leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in _leaves(inner)]
    return [exc]


def test_mcp_disconnect_on_a_json_server_is_a_server_that_died(tmp_path: Path) -> None:
    with dying_server(json_response=True) as url:
        real = _ended(url, "die")
    fault = {"fault_type": "mcp_disconnect", "times": 1}
    out = tmp_path / "result.json"
    with (
        docs_server(json_response=True) as base,
        proxy(_experiment(tmp_path, fault, ["mcp.tool.search_docs"]), base, output=out) as run,
    ):
        injected = _ended(run.url + "/mcp", "search_docs")
    assert injected == real
    assert "disconnected without sending a response" in real[0][1]
    assert result_of(out)["summary"]["total_faults_fired"] == 1


def _raw_calls(url: str, tools: list[str]) -> list[Any]:
    """The raw HTTP answers to ``tools/call`` of each tool, after a real initialize."""
    import httpx

    accept = {"accept": "application/json, text/event-stream"}
    with httpx.Client(timeout=10) as client:
        init = client.post(
            url,
            headers=accept,
            json={
                "jsonrpc": "2.0",
                "id": 0,
                "method": "initialize",
                "params": {
                    "protocolVersion": "2025-11-25",
                    "capabilities": {},
                    "clientInfo": {"name": "raw", "version": "1"},
                },
            },
        )
        headers = {**accept, "mcp-protocol-version": "2025-11-25"}
        if "mcp-session-id" in init.headers:
            headers["mcp-session-id"] = init.headers["mcp-session-id"]
        client.post(
            url, headers=headers, json={"jsonrpc": "2.0", "method": "notifications/initialized"}
        )
        return [
            client.post(
                url,
                headers=headers,
                json={
                    "jsonrpc": "2.0",
                    "id": i + 1,
                    "method": "tools/call",
                    "params": {"name": tool, "arguments": {}},
                },
            )
            for i, tool in enumerate(tools)
        ]


@pytest.mark.parametrize("json_response", [False, True], ids=["event-stream", "json"])
def test_a_fault_is_framed_as_the_server_frames_its_answers(
    tmp_path: Path, json_response: bool
) -> None:
    fault = {"fault_type": "tool_vanished", "tool_name": "search_docs"}
    with (
        docs_server(json_response) as base,
        proxy(_experiment(tmp_path, fault, ["mcp.tool.search_docs"]), base) as run,
    ):
        real, injected = _raw_calls(run.url + "/mcp", ["nope", "search_docs"])
    for name in ("content-type", "cache-control", "x-accel-buffering", "mcp-session-id"):
        assert injected.headers.get(name) == real.headers.get(name), name
    assert injected.status_code == real.status_code == 200
    # The same bytes but for the tool's name and the request id.
    expected = real.content.replace(b"nope", b"search_docs").replace(b'"id":1', b'"id":2')
    assert json.loads(_data(injected.content)) == json.loads(_data(expected))
    assert injected.content.startswith(b"event: message\r\ndata: ") is not json_response


def _data(body: bytes) -> bytes:
    if body.startswith(b"event:"):
        return b"".join(ln[5:] for ln in body.splitlines() if ln.startswith(b"data:"))
    return body
