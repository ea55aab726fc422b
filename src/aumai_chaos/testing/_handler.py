"""The request handler of ``ProviderServer``: routing, recording, rendering and misbehaving.

One ``BaseHTTPRequestHandler`` per connection (HTTP/1.1 keep-alive). Streams use chunked
transfer encoding, one chunk per SSE event, written straight to the socket.
"""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import time
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any

from aumai_chaos.testing._script import (
    API,
    CutStream,
    ErrorEvent,
    Generation,
    HTTPReply,
    Reply,
    StallStream,
    model_request,
)
from aumai_chaos.testing._sse import Ids, error_sse
from aumai_chaos.testing._wire_anthropic import messages_body, messages_events
from aumai_chaos.testing._wire_openai import chat_body, chat_events, embeddings_body, models_body
from aumai_chaos.testing._wire_responses import responses_body, responses_events

if TYPE_CHECKING:
    from aumai_chaos.testing._server import ProviderServer

__all__ = ["GENERATION", "GONE", "Handler", "RecordedRequest"]

GENERATION: dict[str, API] = {
    "/v1/chat/completions": "chat.completions",
    "/v1/responses": "responses",
    "/v1/messages": "messages",
}
_RENDER = {
    "chat.completions": (chat_body, chat_events),
    "responses": (responses_body, responses_events),
    "messages": (messages_body, messages_events),
}
#: How long a reset waits, at most, for the client to acknowledge and read what was sent.
RESET_GRACE_SECONDS = 1.0
#: After the client has acknowledged every byte: time for its application to read them, which
#: on a loaded machine can take a scheduling round or two.
READ_GRACE_SECONDS = 0.3

GONE = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError)
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


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: with Nagle's algorithm on, the body waits for
    # the client's delayed ACK of the headers (about 40 ms per keep-alive request on Linux).
    disable_nagle_algorithm = True
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
            elif path in GENERATION:
                self._generate(GENERATION[path], recorded, reply)
            else:
                self._send_json(404, _error_body(path, 404, f"Unknown path {path}"))
        except GONE:
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
            self._stream(render_events(chosen, request, ids), chosen, api)
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
        disrupt: CutStream | StallStream | ErrorEvent | None = None,
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
        if isinstance(disrupt, StallStream) and self.owner._stall(disrupt.seconds):
            self._cut(reset=False)  # stop() ends a stall: the body never comes
            return
        self.wfile.write(body)

    def _stream(self, events: list[bytes], reply: Generation, api: API) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream; charset=utf-8")
        self.send_header("cache-control", "no-cache")
        self.send_header("transfer-encoding", "chunked")
        self.send_header("x-request-id", f"req_{self.owner.request_count():06d}")
        self.end_headers()
        disrupt = reply.disrupt
        for number, event in enumerate(events):
            if disrupt is not None and number == disrupt.after_events:
                if isinstance(disrupt, ErrorEvent):
                    error = error_sse(api, disrupt.error_type, disrupt.message, number)
                    self.wfile.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(error), error))
                    return
                if isinstance(disrupt, CutStream):
                    self._cut(disrupt.reset)
                    return
                if self.owner._stall(disrupt.seconds):
                    self._cut(reset=False)  # stop() ends a stall: the rest never comes
                    return
            # One chunk per event, written straight to the socket (wfile is unbuffered).
            self.wfile.write(b"%x\r\n%s\r\n" % (len(event), event))
        self.wfile.write(b"0\r\n\r\n")

    def _cut(self, reset: bool) -> None:
        """Drop the connection mid-body: a TCP reset (``SO_LINGER`` 0) or a plain FIN."""
        self.close_connection = True
        sock = self.connection
        if reset:
            # A reset makes the client's kernel drop what its application has not read yet, so
            # a reset sent right after the events could lose them on a busy machine. Wait until
            # the client has acknowledged every byte, and a moment for it to read them: then
            # the client has exactly the events sent, as behind a real peer that crashed later.
            _wait_acknowledged(sock, RESET_GRACE_SECONDS)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        else:
            with contextlib.suppress(OSError):  # the client may have hung up first (ENOTCONN)
                sock.shutdown(socket.SHUT_RDWR)
        # rfile (a makefile) holds a reference that would keep the descriptor open; wfile
        # writes to the socket object directly and stays open for the base handler's flush.
        self.rfile.close()
        sock.close()


def _wait_acknowledged(sock: socket.socket, grace: float) -> None:
    """Wait (at most ``grace`` seconds) until the peer has acknowledged every byte sent, then
    :data:`READ_GRACE_SECONDS` more for its application to read them. Where the send queue
    cannot be read (not Linux), wait that moment only."""
    deadline = time.monotonic() + grace
    try:
        import fcntl  # POSIX only
        import termios

        while time.monotonic() < deadline:
            unacked = struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0" * 4))
            if unacked[0] == 0:
                break
            time.sleep(0.002)
    except (ImportError, OSError):
        pass
    time.sleep(READ_GRACE_SECONDS)
