"""The floor of the proxy rows: the least a proxy on the same parts can do (uvicorn with the
proxy's own protocol and event loop, :func:`aumai_chaos.proxy._server.stack`: httptools on
uvloop when installed, else h11 on asyncio; the proxy's upstream client,
``WireTransport``; the body streamed as it arrives), with no fault code, no telemetry and no
header rules. ``python -m benchmarks._bare_proxy UPSTREAM`` prints
``listening on http://127.0.0.1:PORT`` on stderr when ready."""

from __future__ import annotations

import asyncio
import socket
import sys
from typing import Any

import httpx
import uvicorn

from aumai_chaos.proxy._server import stack
from aumai_chaos.proxy._wire import WireTransport

_SKIP = (b"host", b"content-length", b"connection", b"transfer-encoding")
_TIMEOUT = {"connect": 30.0, "read": None, "write": None, "pool": None}


def main() -> None:
    upstream = sys.argv[1]
    transport = WireTransport()
    protocol, loop_factory = stack()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = [(k, v) for k, v in scope["headers"] if k not in _SKIP]
        request = httpx.Request(
            scope["method"],
            upstream + scope["path"],
            headers=headers,
            content=body,
            extensions={"timeout": _TIMEOUT},
        )
        response = await transport.handle_async_request(request)
        out = [(k, v) for k, v in response.headers.raw if k.lower() not in _SKIP[2:]]
        await send({"type": "http.response.start", "status": response.status_code, "headers": out})
        async for chunk in response.stream:  # type: ignore[union-attr]
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
        await response.aclose()

    # IPPROTO_TCP named: asyncio sets TCP_NODELAY only on sockets whose proto says TCP.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        app,
        http=protocol,
        lifespan="off",
        log_level="warning",
        access_log=False,
        server_header=False,
        date_header=False,
    )
    server = uvicorn.Server(config)
    print(f"listening on http://127.0.0.1:{sock.getsockname()[1]}", file=sys.stderr, flush=True)
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(server.serve(sockets=[sock]))


if __name__ == "__main__":
    main()
