"""``ProviderServer``: an OpenAI- and Anthropic-compatible model server on loopback.

Standard library only: a ``ThreadingHTTPServer`` on ``127.0.0.1`` and a free port, served from
one background thread, one handler thread per connection (``_handler.py``).
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Iterable
from http.server import ThreadingHTTPServer
from typing import Any, Self

from aumai_chaos._engine.managed import Managed
from aumai_chaos.testing._handler import GENERATION, GONE, Handler, RecordedRequest
from aumai_chaos.testing._script import (
    HTTPReply,
    Reply,
    Responder,
    TextReply,
    ToolCallReply,
    ToolCallsReply,
    default_responder,
)

__all__ = ["ProviderServer", "RecordedRequest"]


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True  # joined by ProviderServer.stop(), with a bound

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away is normal here; anything else is printed as usual."""
        if not isinstance(sys.exc_info()[1], GONE):
            super().handle_error(request, client_address)


class ProviderServer(Managed):
    """An OpenAI- and Anthropic-compatible model server on ``127.0.0.1``, for tests and demos.

    Use it as a context manager, or call :meth:`start` and :meth:`stop`::

        with ProviderServer() as server:
            client = openai.OpenAI(base_url=server.openai_base_url, api_key="test")
            server.script([ToolCallReply("search", {"query": "chaos"}), TextReply("Done.")])

    What the model answers comes from the script queue (:meth:`script`), and when that is
    empty from ``responder`` (by default :func:`default_responder`). Every request is recorded
    in :attr:`requests`.
    """

    def __init__(self, *, responder: Responder = default_responder) -> None:
        self.responder = responder
        self._lock = threading.Lock()
        self._records: list[RecordedRequest] = []
        self._queue: deque[Reply] = deque()
        self._path_queues: dict[str, deque[Reply]] = {}
        self._connections: set[socket.socket] = set()
        self._handler_threads: set[threading.Thread] = set()
        self._seq = 0
        self._stopping = threading.Event()
        self._stall_done = threading.Condition(self._lock)
        self._stalling = 0
        self._releases = 0
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> Self:
        """Bind ``127.0.0.1`` on a free port and serve from a background thread."""
        if self._httpd is not None:
            raise RuntimeError("ProviderServer is already started")
        handler = type("Handler", (Handler,), {"owner": self})
        httpd = _HTTPServer(("127.0.0.1", 0), handler)
        self._stopping.clear()
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="provider-server"
        )
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving, drop open connections, wake stalls and join every thread.

        Raises ``RuntimeError`` if a thread is still alive after ``timeout`` seconds.
        """
        httpd, thread = self._httpd, self._thread
        if httpd is None or thread is None:
            return
        self._stopping.set()
        with self._stall_done:
            self._stall_done.notify_all()
        httpd.shutdown()
        thread.join(timeout)
        with self._lock:
            connections = list(self._connections)
            handlers = list(self._handler_threads)
        for conn in connections:
            with contextlib.suppress(OSError):  # already closed by its handler
                conn.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + timeout
        for handler in handlers:
            handler.join(max(0.0, deadline - time.monotonic()))
        httpd.server_close()
        self._httpd = self._thread = None
        alive = [t.name for t in (thread, *handlers) if t.is_alive()]
        if alive:
            raise RuntimeError(f"ProviderServer threads still alive after stop: {alive}")

    def _enter(self) -> None:
        self.start()

    def _exit(self, exc_type: type[BaseException] | None, exc: BaseException | None) -> None:
        self.stop()

    # -- addresses -------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("ProviderServer is not started")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def openai_base_url(self) -> str:
        """``http://127.0.0.1:PORT/v1``, for ``openai.OpenAI(base_url=...)``."""
        return f"{self.url}/v1"

    @property
    def anthropic_base_url(self) -> str:
        """``http://127.0.0.1:PORT``, for ``anthropic.Anthropic(base_url=...)``."""
        return self.url

    # -- scripting -------------------------------------------------------------------------

    def script(self, replies: Iterable[Reply], *, path: str | None = None) -> None:
        """Queue replies, answered in order, one per request.

        Without ``path``, the queue serves the generation endpoints (chat completions,
        responses, messages). With ``path`` (e.g. ``"/v1/embeddings"``), a queue for that exact
        path, consulted first. An :class:`HTTPReply` is sent as it is, on any endpoint.
        """
        items = list(replies)
        for item in items:
            if not isinstance(item, TextReply | ToolCallReply | ToolCallsReply | HTTPReply):
                raise TypeError(f"not a reply: {item!r}")
            if path is not None and path not in GENERATION and not isinstance(item, HTTPReply):
                raise TypeError(f"only an HTTPReply can answer {path}, got {item!r}")
        with self._lock:
            queue = self._queue if path is None else self._path_queues.setdefault(path, deque())
            queue.extend(items)

    @property
    def pending(self) -> int:
        """How many scripted replies are still queued, over all queues."""
        with self._lock:
            return len(self._queue) + sum(len(q) for q in self._path_queues.values())

    def clear(self) -> None:
        """Forget recorded requests and queued replies."""
        with self._lock:
            self._records.clear()
            self._queue.clear()
            self._path_queues.clear()

    def release(self) -> None:
        """End every stall (:class:`StallStream`) now: each stalled reply goes on at once."""
        with self._stall_done:
            self._releases += 1
            self._stall_done.notify_all()

    # -- observation -----------------------------------------------------------------------

    @property
    def stalling(self) -> int:
        """How many replies are in a stall (:class:`StallStream`) right now."""
        with self._lock:
            return self._stalling

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request received so far, in arrival order."""
        with self._lock:
            return list(self._records)

    def request_count(self, path: str | None = None) -> int:
        """How many requests arrived, for one exact ``path`` (``"/v1/chat/completions"``) or all."""
        with self._lock:
            if path is None:
                return len(self._records)
            return sum(1 for r in self._records if r.path == path)

    # -- for the handler -------------------------------------------------------------------

    def _register(self, conn: socket.socket) -> None:
        with self._lock:
            self._connections.add(conn)
            self._handler_threads = {t for t in self._handler_threads if t.is_alive()}
            self._handler_threads.add(threading.current_thread())

    def _unregister(self, conn: socket.socket) -> None:
        with self._lock:
            self._connections.discard(conn)

    def _append(self, record: RecordedRequest) -> None:
        with self._lock:
            self._records.append(record)

    def _scripted(self, path: str) -> Reply | None:
        with self._lock:
            queue = self._path_queues.get(path)
            if queue:
                return queue.popleft()
            if path in GENERATION and self._queue:
                return self._queue.popleft()
            return None

    def _stall(self, seconds: float) -> bool:
        """Wait ``seconds``, or until :meth:`release` or :meth:`stop`; ``True`` when stopped."""
        with self._stall_done:
            self._stalling += 1
            releases = self._releases
            try:
                self._stall_done.wait_for(
                    lambda: self._stopping.is_set() or self._releases != releases, seconds
                )
            finally:
                self._stalling -= 1
        return self._stopping.is_set()

    def _next_seq(self) -> int:
        with self._lock:
            self._seq += 1
            return self._seq
