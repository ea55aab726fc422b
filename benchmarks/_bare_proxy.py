"""The floor of the proxy rows: the least a proxy on the same parts can do (uvicorn with h11,
an httpx ``AsyncClient``, the body streamed with ``aiter_raw``), with no fault code, no
telemetry and no header rules. ``python -m benchmarks._bare_proxy UPSTREAM`` prints
``listening on http://127.0.0.1:PORT`` on stderr when ready."""

from __future__ import annotations

import asyncio
import socket
import sys
from typing import Any

import httpx
import uvicorn

_SKIP = (b"host", b"content-length", b"connection", b"transfer-encoding")


def main() -> None:
    upstream = sys.argv[1]
    client = httpx.AsyncClient(timeout=None, trust_env=False)

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
            scope["method"], upstream + scope["path"], headers=headers, content=body
        )
        response = await client.send(request, stream=True)
        out = [(k, v) for k, v in response.headers.raw if k.lower() not in _SKIP[2:]]
        await send({"type": "http.response.start", "status": response.status_code, "headers": out})
        async for chunk in response.aiter_raw():
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
        await response.aclose()

    # IPPROTO_TCP named: asyncio sets TCP_NODELAY only on sockets whose proto says TCP.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        app,
        http="h11",
        lifespan="off",
        log_level="warning",
        access_log=False,
        server_header=False,
        date_header=False,
    )
    server = uvicorn.Server(config)
    print(f"listening on http://127.0.0.1:{sock.getsockname()[1]}", file=sys.stderr, flush=True)
    asyncio.run(server.serve(sockets=[sock]))


if __name__ == "__main__":
    main()
