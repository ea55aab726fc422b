"""Serving a run's metrics for Prometheus to scrape, until the final values have been scraped.

A short run is the classic lost-scrape problem: the counters recorded when the experiment ends
(runs, duration) exist only for the last few milliseconds of the process. The server therefore
remembers when the run ended and reports, through :meth:`PrometheusServer.wait_final_scrape`,
once a scrape that *started after the end* has been fully written to its client.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

__all__ = ["PrometheusServer"]

_Wsgi = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class _Server6(_Server):
    address_family = socket.AF_INET6


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """No access log on our stderr."""


class _Body:
    """The response body; the server calls ``close()`` after it has written every byte."""

    def __init__(self, body: Iterable[bytes], on_close: Callable[[], None]) -> None:
        self._body = body
        self._on_close = on_close

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._body)

    def close(self) -> None:
        close = getattr(self._body, "close", None)
        if close is not None:
            close()
        self._on_close()


class PrometheusServer:
    """``/metrics`` on ``host:port`` from a ``prometheus_client`` registry, in daemon threads."""

    def __init__(self, registry: Any, host: str, port: int) -> None:
        from prometheus_client import make_wsgi_app

        self._inner: _Wsgi = make_wsgi_app(registry)
        self._ended = threading.Event()
        self._final_scraped = threading.Event()
        self._lock = threading.Lock()
        self._scrapes = 0
        server_class = _Server6 if ":" in host else _Server
        self._httpd = make_server(
            host, port, self._app, server_class=server_class, handler_class=_QuietHandler
        )
        self.host = host
        self.port = int(self._httpd.server_address[1])
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="aumai-chaos-prometheus",
            daemon=True,
        )
        self._thread.start()

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/metrics"

    @property
    def scrapes(self) -> int:
        """How many scrapes have been answered so far."""
        return self._scrapes

    def _app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        after_end = self._ended.is_set()
        status: list[str] = []

        def recording_start_response(code: str, headers: Any, *rest: Any) -> Any:
            status.append(code)
            return start_response(code, headers, *rest)

        body = self._inner(environ, recording_start_response)
        is_scrape = environ.get("PATH_INFO", "/") != "/favicon.ico"

        def on_close() -> None:
            if is_scrape and status and status[0].startswith("200"):
                with self._lock:
                    self._scrapes += 1
                if after_end:
                    self._final_scraped.set()

        return _Body(body, on_close)

    def mark_run_ended(self) -> None:
        """From now on the registry holds the final values; the next full scrape sees them."""
        self._ended.set()

    def wait_final_scrape(self, timeout: float, stop: threading.Event | None = None) -> bool:
        """Wait until a scrape started after :meth:`mark_run_ended` has been written out."""
        deadline = time.monotonic() + timeout
        while not self._final_scraped.wait(0.05):
            if time.monotonic() >= deadline or (stop is not None and stop.is_set()):
                return False
        return True

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
