"""Connecting the real ``mcp`` client to the tests' server: stdio (a subprocess), streamable
HTTP (uvicorn on 127.0.0.1, port 0, in a thread) and the in-memory transport."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

import uvicorn
from mcp.client._memory import InMemoryTransport
from mcp.client.client import Client
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from aumai_chaos.mcp import ChaosMiddleware
from tests.helpers import REPO, clean_env
from tests.mcp.server_app import build

#: stdio (a subprocess), the in-memory transport, streamable HTTP (uvicorn), and the in-process
#: ``Client(server)`` of the SDK's modern protocol (a ``DirectDispatcher`` pair, no messages).
TRANSPORTS = ("stdio", "memory", "http", "direct")


@contextlib.asynccontextmanager
async def connect(
    transport: str,
    name: str = "docs",
    faults: Sequence[dict[str, Any]] = (),
    env: dict[str, str] | None = None,
) -> AsyncIterator[ClientSession]:
    """An initialized client session to a ``build(name)`` server over ``transport``, with
    ``ChaosMiddleware(faults=faults)`` in the server when ``faults`` are given (``[]`` for
    none, over stdio: give ``env`` then); ``env`` adds to a stdio server's environment."""
    if transport == "stdio":
        extra = dict(env or {})
        if faults or env is not None:
            extra["CHAOS_MCP_FAULTS"] = json.dumps(list(faults))
        env = clean_env(**extra)
        params = StdioServerParameters(
            command=sys.executable, args=["-m", "tests.mcp.server_app", name], env=env, cwd=REPO
        )
        cm: Any = stdio_client(params, errlog=_devnull())
    else:
        middleware = [ChaosMiddleware(faults=list(faults), seed=1)] if faults else []
        server = build(name, middleware)
        if transport == "direct":
            async with Client(server) as client:
                yield client.session
            return
        cm = InMemoryTransport(server) if transport == "memory" else _http(server)
    async with cm as streams, ClientSession(streams[0], streams[1]) as session:
        await session.initialize()
        yield session


@contextlib.asynccontextmanager
async def _http(server: Any) -> AsyncIterator[Any]:
    with serve_http(server) as url:
        async with streamable_http_client(url) as streams:
            yield streams


@contextlib.contextmanager
def serve_http(server: Any) -> Iterator[str]:
    """``server`` over streamable HTTP on 127.0.0.1 (port 0), in a thread; yields its URL."""
    config = uvicorn.Config(
        server.streamable_http_app(), host="127.0.0.1", port=0, log_level="critical", lifespan="on"
    )
    web = uvicorn.Server(config)
    thread = threading.Thread(target=web.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not web.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    port = web.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        web.should_exit = True
        thread.join(10)


#: The stdio servers' stderr (the SDK logs a failing tool's traceback there).
_DEVNULL = open(os.devnull, "w")  # noqa: SIM115 - open for the whole test process


def _devnull() -> Any:
    return _DEVNULL


def texts(result: Any) -> Sequence[str]:
    return [c.text for c in result.content]
