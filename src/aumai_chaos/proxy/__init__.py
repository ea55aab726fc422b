"""``aumai-chaos proxy``: the experiments of ``aumai-chaos run`` for agents in any language.

A reverse proxy in front of the model provider (and other HTTP services): a client changes its
base URL to the proxy's, and the running experiment's faults act on its requests through the
transport's own code (``aumai_chaos.transport``), so a Node, Go or any other agent sees the
same 429s, resets, cut streams and malformed tool calls as a Python one.

- :class:`Proxy`: the server, its upstream client and the fault code, started and stopped.
- :func:`parse_upstreams`: the ``--upstream URL`` / ``--upstream NAME=URL`` forms;
  :meth:`Upstreams.resolve` gives a request's :class:`Target`.
- :class:`RequestClassifier`: names a request's component from more than its URL;
  :class:`McpClassifier` names MCP's JSON-RPC requests (``tools/call`` is ``mcp.tool.<name>``).
- :func:`check_for_proxy`, :class:`ProxyRun`: the experiment as the proxy runs it.

Needs the ``proxy`` extra (uvicorn, httpx; uvloop and httptools, used when installed); nothing
here is imported by ``import aumai_chaos``.
"""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry.trace import TracerProvider

from aumai_chaos.proxy._app import ProxyApp
from aumai_chaos.proxy._exchange import ProxyTransport, RequestClassifier
from aumai_chaos.proxy._mcp import McpClassifier
from aumai_chaos.proxy._server import Connections, ProxyServer, bind
from aumai_chaos.proxy._session import ProxyRun, check_for_proxy, visible, with_duration
from aumai_chaos.proxy._upstreams import Target, Upstream, Upstreams, parse_upstreams
from aumai_chaos.proxy._wire import WireTransport
from aumai_chaos.transport._transport import Chaos

__all__ = [
    "McpClassifier",
    "Proxy",
    "ProxyRun",
    "RequestClassifier",
    "Target",
    "Upstream",
    "Upstreams",
    "check_for_proxy",
    "parse_upstreams",
    "visible",
    "with_duration",
]


class Proxy:
    """The proxy on ``host:port`` (bound at once: a port in use is a
    :class:`~aumai_chaos.ConfigError`) in front of ``upstreams``; :meth:`start`, :meth:`stop`.

    Its faults are those of the experiments running in this process, on each request's
    component (the transport's routes, or a ``classifiers`` answer). ``fast`` serves on uvloop
    and httptools when they are installed (the ``proxy`` extra brings them); without them, or
    with ``fast=False``, on asyncio and h11.
    """

    def __init__(
        self,
        upstreams: Upstreams,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        classifiers: Sequence[RequestClassifier] = (),
        tracer_provider: TracerProvider | None = None,
        verify: bool | str = True,
        fast: bool = True,
    ) -> None:
        self.upstreams = upstreams
        self.host = host
        self._sock = bind(host, port)
        connections = Connections()
        chaos = Chaos(tracer_provider=tracer_provider, where="aumai-chaos proxy")
        # The transport itself, not an httpx client: a reverse proxy follows no redirect, keeps
        # no cookie, reads no proxy setting from the environment and sets its own timeouts.
        transport = ProxyTransport(WireTransport(verify=verify), chaos, classifiers)
        app = ProxyApp(upstreams, transport, connections, tracer_provider=tracer_provider)
        self._server = ProxyServer(
            app, self._sock, connections, on_stop=transport.aclose, fast=fast
        )

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> None:
        self._server.start()

    def stop(self) -> None:
        self._server.stop()
