"""Helpers for the command-line tests: the CLI as a real process, an environment with no OTEL_*
variables leaking in, free loopback ports, and the checks for one-line errors."""

from __future__ import annotations

import contextlib
import http.server
import socket
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from tests.helpers import REPO, clean_env

#: Faults that always fire, so that the verdict is "passed" and the exit code 0.
SHORT_EXPERIMENT = """\
experiment_id: "{exp_id}"
name: "Short CLI test"
duration_seconds: {duration}
tick_seconds: {tick}
target_components: [tool_executor]
faults:
  - fault_type: latency
    probability: 1.0
    duration_ms: 5
    affected_components: [tool_executor]
  - fault_type: error
    probability: 1.0
    error_code: 503
    error_message: "Simulated upstream failure"
    affected_components: [tool_executor]
"""

#: Always-firing errors against an objective of no errors: the verdict is "deviated", exit 1.
DEVIATING_EXPERIMENT = """\
experiment_id: "{exp_id}"
name: "Deviates"
duration_seconds: {duration}
tick_seconds: {tick}
faults:
  - fault_type: error
    probability: 1.0
    affected_components: [tool_executor]
steady_state:
  - component: tool_executor
    max_error_rate: 0.0
"""


def experiment_writer(tmp_path: Path, default_id: str) -> Callable[..., Path]:
    """What the ``write_experiment`` fixtures return: write a short experiment file (the
    always-firing one unless ``text`` is given, formatted with the same fields)."""

    def write(
        name: str = "short.yaml",
        *,
        exp_id: str = default_id,
        duration: float = 1,
        tick: float = 0.2,
        text: str | None = None,
        folder: Path | None = None,
    ) -> Path:
        path = (folder or tmp_path) / name
        body = textwrap.dedent(text if text is not None else SHORT_EXPERIMENT)
        path.write_text(body.format(exp_id=exp_id, duration=duration, tick=tick), encoding="utf-8")
        return path

    return write


def cli_env(**overrides: str) -> dict[str, str]:
    """The subprocess environment: no kill switch, no OTEL_* from the outside, unbuffered."""
    env = {k: v for k, v in clean_env().items() if not k.startswith("OTEL_")}
    env.pop("AUMAI_CHAOS_DEBUG", None)
    env["PYTHONUNBUFFERED"] = "1"
    env.update(overrides)
    return env


def run_cli(
    *args: str,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 60,
    module: str = "aumai_chaos",
) -> subprocess.CompletedProcess[str]:
    """``python -m aumai_chaos ARGS`` in a fresh process."""
    return subprocess.run(
        [sys.executable, "-X", "utf8", "-m", module, *args],
        capture_output=True,
        text=True,
        env=env if env is not None else cli_env(),
        cwd=cwd or REPO,
        timeout=timeout,
        check=False,
    )


def start_cli(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.Popen[str]:
    """The CLI started in the background (for signals)."""
    return subprocess.Popen(
        [sys.executable, "-X", "utf8", "-m", "aumai_chaos", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env if env is not None else cli_env(),
        cwd=cwd or REPO,
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("aumai-chaos: error:")]


def assert_one_error_line(result: subprocess.CompletedProcess[str], *needles: str) -> str:
    """Exit 2, exactly one error line naming every needle, no traceback; returns the line."""
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    assert "Traceback" not in result.stdout
    lines = error_lines(result.stderr)
    assert len(lines) == 1, result.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


class BlackHole:
    """A loopback socket that accepts connections and never answers."""

    def __enter__(self) -> int:
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self._conns: list[socket.socket] = []
        self._stop = threading.Event()
        self._sock.settimeout(0.1)

        def accept() -> None:
            while not self._stop.is_set():
                try:
                    conn, _ = self._sock.accept()
                except OSError:
                    continue
                self._conns.append(conn)

        self._thread = threading.Thread(target=accept, daemon=True)
        self._thread.start()
        return int(self._sock.getsockname()[1])

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(2)
        for conn in self._conns:
            conn.close()
        self._sock.close()


def attrs(item: Any) -> dict[str, Any]:
    """An OTLP protobuf attribute list as a plain dict."""
    out: dict[str, Any] = {}
    for kv in item.attributes:
        kind = kv.value.WhichOneof("value")
        out[kv.key] = getattr(kv.value, kind) if kind else None
    return out


async def collect_stream(stream: Any, into: list[Any]) -> None:
    """Gather an oteltap stream into a list until it ends."""
    async for item in stream:
        into.append(item)


@contextlib.contextmanager
def status_collector(traces: int, metrics: int) -> Iterator[int]:
    """An OTLP/HTTP endpoint answering posts with fixed status codes; yields its port."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(traces if self.path.endswith("/v1/traces") else metrics)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
