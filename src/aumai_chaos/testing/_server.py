"""``ProviderServer``: an OpenAI- and Anthropic-compatible model server on loopback.

Standard library only: a ``ThreadingHTTPServer`` on ``127.0.0.1`` and a free port, served from
one background thread, one thread per connection. Streams use chunked transfer encoding and
write each event straight to the socket, so clients read them one by one.
"""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import sys
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

from aumai_chaos.testing._script import (
    API,
    CutStream,
    HTTPReply,
    Reply,
    Responder,
    StallStream,
    TextReply,
    ToolCallReply,
    default_responder,
    model_request,
)
from aumai_chaos.testing._sse import Ids
from aumai_chaos.testing._wire_anthropic import messages_body, messages_events
from aumai_chaos.testing._wire_openai import chat_body, chat_events, embeddings_body, models_body
from aumai_chaos.testing._wire_responses import responses_body, responses_events

__all__ = ["ProviderServer", "RecordedRequest"]

_GENERATION: dict[str, API] = {
    "/v1/chat/completions": "chat.completions",
    "/v1/responses": "responses",
    "/v1/messages": "messages",
}
_RENDER = {
    "chat.completions": (chat_body, chat_events),
    "responses": (responses_body, responses_events),
    "messages": (messages_body, messages_events),
}
_GONE = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError)
#: Idle keep-alive connections are dropped after this long: every server wait is bounded.
_IDLE_TIMEOUT_S = 30.0


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request as the server received it: ``json`` is the parsed body, or ``None``."""

    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: bytes
    json: Any


def _error_body(path: str, status: int, message: str) -> dict[str, Any]:
    if path == "/v1/messages":
        kind = "not_found_error" if status == 404 else "invalid_request_error"
        return {"type": "error", "error": {"type": kind, "message": message}}
    return {
        "error": {"message": message, "type": "invalid_request_error", "param": None, "code": None}
    }


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "aumai-chaos-provider/1"
    timeout = _IDLE_TIMEOUT_S
    owner: ProviderServer  # set on the subclass that each server makes

    def setup(self) -> None:
        super().setup()
        self.owner._register(self.connection)

    def finish(self) -> None:
        try:
            with contextlib.suppress(OSError):
                super().finish()
        finally:
            self.owner._unregister(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read ``server.requests``, not stderr."""

    # -- routing ---------------------------------------------------------------------------

    def do_GET(self) -> None:
        path, _ = self._record(b"")
        if path == "/v1/models":
            self._send_json(200, models_body())
        else:
            self._send_json(404, _error_body(path, 404, f"Unknown path {path}"))

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        path, recorded = self._record(raw)
        try:
            reply = self.owner._scripted(path)
            if isinstance(reply, HTTPReply):
                body, headers = reply.encoded()
                self._send(reply.status, body, headers)
            elif not isinstance(recorded, dict):
                self._send_json(400, _error_body(path, 400, "The body is not a JSON object."))
            elif path == "/v1/embeddings":
                self._send_json(200, embeddings_body(recorded))
            elif path in _GENERATION:
                self._generate(_GENERATION[path], recorded, reply)
            else:
                self._send_json(404, _error_body(path, 404, f"Unknown path {path}"))
        except _GONE:
            self.close_connection = True  # the client went away; nothing to answer

    def _record(self, raw: bytes) -> tuple[str, Any]:
        path, _, query = self.path.partition("?")
        try:
            parsed: Any = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        headers = {k.lower(): v for k, v in self.headers.items()}
        self.owner._append(RecordedRequest(self.command, path, query, headers, raw, parsed))
        return path, parsed

    def _generate(self, api: API, body: dict[str, Any], reply: Reply | None) -> None:
        request = model_request(api, body)
        chosen = reply if reply is not None else self.owner.responder(request)
        if isinstance(chosen, HTTPReply):
            payload, headers = chosen.encoded()
            self._send(chosen.status, payload, headers)
            return
        ids = Ids(self.owner._next_seq(), int(time.time()))
        render_body, render_events = _RENDER[api]
        if request.stream:
            self._stream(render_events(chosen, request, ids), chosen)
        else:
            payload = json.dumps(render_body(chosen, request, ids)).encode()
            self._send(200, payload, {"content-type": "application/json"}, chosen.disrupt)

    # -- writing ---------------------------------------------------------------------------

    def _send_json(self, status: int, body: Any) -> None:
        self._send(status, json.dumps(body).encode(), {"content-type": "application/json"})

    def _send(
        self,
        status: int,
        body: bytes,
        headers: Mapping[str, str],
        disrupt: CutStream | StallStream | None = None,
    ) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("content-length", str(len(body)))
        self.send_header("x-request-id", f"req_{self.owner.request_count():06d}")
        self.end_headers()
        if isinstance(disrupt, CutStream):
            self.wfile.write(body[: len(body) // 2])
            self._cut(disrupt.reset)
            return
        if isinstance(disrupt, StallStream):
            self.owner._stopping.wait(disrupt.seconds)
        self.wfile.write(body)

    def _stream(self, events: list[bytes], reply: TextReply | ToolCallReply) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream; charset=utf-8")
        self.send_header("cache-control", "no-cache")
        self.send_header("transfer-encoding", "chunked")
        self.send_header("x-request-id", f"req_{self.owner.request_count():06d}")
        self.end_headers()
        disrupt = reply.disrupt
        for number, event in enumerate(events):
            if disrupt is not None and number == disrupt.after_events:
                if isinstance(disrupt, CutStream):
                    self._cut(disrupt.reset)
                    return
                self.owner._stopping.wait(disrupt.seconds)
            # One chunk per event, written straight to the socket (wfile is unbuffered).
            self.wfile.write(b"%x\r\n%s\r\n" % (len(event), event))
        self.wfile.write(b"0\r\n\r\n")

    def _cut(self, reset: bool) -> None:
        """Drop the connection mid-body: a TCP reset (``SO_LINGER`` 0) or a plain FIN."""
        self.close_connection = True
        sock = self.connection
        if reset:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        else:
            sock.shutdown(socket.SHUT_RDWR)
        # rfile (a makefile) holds a reference that would keep the descriptor open; wfile
        # writes to the socket object directly and stays open for the base handler's flush.
        self.rfile.close()
        sock.close()


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True  # joined by ProviderServer.stop(), with a bound

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away is normal here; anything else is printed as usual."""
        if not isinstance(sys.exc_info()[1], _GONE):
            super().handle_error(request, client_address)


class ProviderServer:
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
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> Self:
        """Bind ``127.0.0.1`` on a free port and serve from a background thread."""
        if self._httpd is not None:
            raise RuntimeError("ProviderServer is already started")
        handler = type("Handler", (_Handler,), {"owner": self})
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

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
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
            if not isinstance(item, TextReply | ToolCallReply | HTTPReply):
                raise TypeError(f"not a reply: {item!r}")
            if path is not None and path not in _GENERATION and not isinstance(item, HTTPReply):
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

    # -- observation -----------------------------------------------------------------------

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
            if path in _GENERATION and self._queue:
                return self._queue.popleft()
            return None

    def _next_seq(self) -> int:
        with self._lock:
            self._seq += 1
            return self._seq
