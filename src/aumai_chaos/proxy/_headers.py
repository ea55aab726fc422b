"""Which headers cross the proxy: RFC 9110 section 7.6.1 (hop-by-hop fields).

A proxy removes ``Connection`` and every field it lists, and the fields that only ever describe
one connection (``Keep-Alive``, ``Proxy-Connection``, ``TE``, ``Transfer-Encoding``,
``Upgrade``, ``Proxy-Authenticate``, ``Proxy-Authorization``, ``Trailer``). ``Host`` is the
upstream's (httpx sets it from the URL) and ``Content-Length`` is that of the body sent on.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = ["HOP_BY_HOP", "request_headers", "response_headers"]

HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"te",
        b"transfer-encoding",
        b"upgrade",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"trailer",
    }
)
_TRACE = frozenset({b"traceparent", b"tracestate"})


def _listed(headers: Iterable[tuple[bytes, bytes]]) -> frozenset[bytes]:
    """The names that ``Connection`` lists (hop-by-hop for this message)."""
    names: set[bytes] = set()
    for key, value in headers:
        if key.lower() == b"connection":
            names.update(t.strip().lower() for t in value.split(b",") if t.strip())
    return frozenset(names)


def request_headers(
    raw: list[tuple[bytes, bytes]], body_length: int, trace: dict[str, str]
) -> list[tuple[bytes, bytes]]:
    """The client's headers as the upstream gets them: hop-by-hop, ``Host`` and the client's
    framing removed, ``Content-Length`` that of the body, the trace context the proxy's span."""
    # ``Expect: 100-continue`` was answered here (the body is read before it is sent on).
    drop = HOP_BY_HOP | _listed(raw) | _TRACE | {b"host", b"content-length", b"expect"}
    out = [(k, v) for k, v in raw if k.lower() not in drop]
    framed = any(k.lower() in (b"content-length", b"transfer-encoding") for k, _ in raw)
    if body_length or framed:
        out.append((b"content-length", str(body_length).encode()))
    out.extend((k.encode("latin-1"), v.encode("latin-1")) for k, v in trace.items())
    return out


def response_headers(response: Any, keep_length: bool) -> list[tuple[bytes, bytes]]:
    """The upstream's (or the fault's) response headers for the client. ``Content-Length``
    stays only when the body is exactly the one it describes (``keep_length``)."""
    raw: list[tuple[bytes, bytes]] = list(response.headers.raw)
    drop = HOP_BY_HOP | _listed(raw)
    if not keep_length:
        drop = drop | {b"content-length"}
    return [(k, v) for k, v in raw if k.lower() not in drop]
