"""A plain loopback SSE server that breaks a stream at the socket, written without aumai-chaos.

It is the independent witness for ``ProviderServer``'s own disruptions: it replays a stream's
events (one HTTP chunk each, as recorded from a clean answer) and then resets the connection
(``SO_LINGER`` 0), closes it (FIN) or goes silent, after a given number of events.
"""

from __future__ import annotations

import socket
import socketserver
import struct
import threading
import time
from dataclasses import dataclass
from types import TracebackType
from typing import Literal

Break = Literal["reset", "close", "stall"]

# The longest a stall or a wait for the client lasts: every wait in a test stays bounded.
STALL_S = 30.0
ACK_WAIT_S = 2.0


@dataclass(frozen=True)
class Plan:
    events: tuple[bytes, ...]
    after: int
    how: Break


class PlainServer:
    """``with PlainServer(plan) as server:`` then point an SDK at ``server.url``."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.requests = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        owner = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                owner._serve(self.request)

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> PlainServer:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5.0)

    def _serve(self, sock: socket.socket) -> None:
        with self._lock:
            self.requests += 1
        _read_request(sock)
        head = (
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream; charset=utf-8\r\n"
            b"transfer-encoding: chunked\r\n\r\n"
        )
        sock.sendall(head)
        for event in self.plan.events[: self.plan.after]:
            sock.sendall(b"%x\r\n%s\r\n" % (len(event), event))
        if self.plan.how == "stall":
            self._stop.wait(STALL_S)
            sock.close()
        elif self.plan.how == "close":
            sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        else:
            _until_acknowledged(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()


def _read_request(sock: socket.socket) -> None:
    """Read one request: the head, then ``content-length`` bytes of body."""
    data = b""
    while b"\r\n\r\n" not in data:
        piece = sock.recv(65536)
        if not piece:
            return
        data += piece
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        piece = sock.recv(65536)
        if not piece:
            return
        body += piece


def _until_acknowledged(sock: socket.socket) -> None:
    """A reset drops what the client's kernel holds unread: wait until the client acknowledged
    every byte (Linux's send-queue size), then a moment for the client to read them."""
    deadline = time.monotonic() + ACK_WAIT_S
    try:
        import fcntl
        import termios

        while time.monotonic() < deadline:
            raw = fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0" * 4)
            if struct.unpack("i", raw)[0] == 0:
                break
            time.sleep(0.002)
    except (ImportError, OSError):
        pass
    time.sleep(0.1)
