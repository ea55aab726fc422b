"""A small upstream with fixed bytes, for byte-for-byte comparisons through the proxy (the
``ProviderServer`` numbers and timestamps its answers, so two requests never match)."""

from __future__ import annotations

import datetime
import gzip
import ipaddress
import json
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

JSON_BODY = json.dumps({"id": "fixed", "choices": [{"text": "héllo wörld " * 20}]}).encode()
GZIP_BODY = gzip.compress(JSON_BODY, mtime=0)
EVENTS = [b'data: {"n": %d, "text": "event %d"}\n\n' % (i, i) for i in range(6)] + [
    b"data: [DONE]\n\n"
]


class Upstream:
    """State shared with the handler: gates, what was received, open streams."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.gate = threading.Event()  # /gated waits for it after the first event
        self.streaming = 0  # /forever streams still writing
        self.stream_ended = threading.Event()
        self.lock = threading.Lock()
        self.url = ""


def _handler(state: Upstream) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def _body(self) -> bytes:
            length = int(self.headers.get("content-length") or 0)
            return self.rfile.read(length) if length else b""

        def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _chunk(self, data: bytes) -> None:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

        def do_GET(self) -> None:
            self._route(b"")

        def do_POST(self) -> None:
            self._route(self._body())

        def _route(self, body: bytes) -> None:
            path = self.path.split("?", 1)[0]
            record = {
                "method": self.command,
                "path": self.path,
                "headers": [[k.lower(), v] for k, v in self.headers.items()],
                "body": body.decode("latin-1"),
            }
            with state.lock:
                state.received.append(record)
            if path.endswith("/json"):
                headers = {
                    "content-type": "application/json",
                    "x-fixed": "1",
                    "keep-alive": "timeout=5",
                    "connection": "keep-alive, x-upstream-hop",
                    "x-upstream-hop": "1",
                }
                self._send(200, headers, JSON_BODY)
            elif path.endswith("/gzip"):
                headers = {"content-type": "application/json", "content-encoding": "gzip"}
                self._send(200, headers, GZIP_BODY)
            elif path.endswith("/echo"):
                self._send(200, {"content-type": "application/json"}, json.dumps(record).encode())
            elif path.endswith(("/sse", "/gated")):
                self._sse(gated=path.endswith("/gated"))
            elif path.endswith("/forever"):
                self._forever()
            else:
                self._send(404, {"content-type": "text/plain"}, b"no such path")

        def _start_sse(self) -> None:
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("transfer-encoding", "chunked")
            self.send_header("connection", "keep-alive")
            self.end_headers()

        def _sse(self, gated: bool) -> None:
            self._start_sse()
            for i, event in enumerate(EVENTS):
                self._chunk(event)
                if gated and i == 0:
                    state.gate.wait(10)
            self.wfile.write(b"0\r\n\r\n")

        def _forever(self) -> None:
            self._start_sse()
            with state.lock:
                state.streaming += 1
            try:
                for i in range(2000):  # at most ~40 s
                    self._chunk(b"data: %d\n\n" % i)
                    threading.Event().wait(0.02)
            except OSError:
                pass
            finally:
                with state.lock:
                    state.streaming -= 1
                state.stream_ended.set()
                self.close_connection = True

    return Handler


@contextmanager
def fixed_upstream(tls: ssl.SSLContext | None = None) -> Iterator[Upstream]:
    """The upstream on 127.0.0.1 (over TLS with ``tls``, as ``https://localhost:PORT``)."""
    state = Upstream()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
        state.url = f"https://localhost:{server.server_address[1]}"
    else:
        state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield state
    finally:
        state.gate.set()
        server.shutdown()
        server.server_close()
        thread.join(10)


def self_signed(folder: Path) -> tuple[ssl.SSLContext, Path]:
    """A server context for ``localhost`` with a fresh self-signed certificate, and the
    certificate's file (the CA a client must trust)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_file = folder / "cert.pem"
    key_file = folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    return context, cert_file
