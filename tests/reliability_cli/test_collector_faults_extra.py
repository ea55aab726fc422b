"""Collectors that misbehave in ways ``tests/cli/test_otlp.py`` does not cover: one that refuses
the traces (HTTP 400 or 404), gRPC collectors that answer with an error status (retryable
UNAVAILABLE, final INVALID_ARGUMENT), and one that accepts the connection and closes it at once.

``tests/cli`` already covers a collector that is down or never answers (HTTP and gRPC), one that
takes traces but refuses metrics, and one failing with 503. Here, in each case: the experiment
completes, the result is written, the exit code is the one the experiment earns (0, or 1 for a
deviated hypothesis), one warning line names the collector, and the run is not delayed by more
than a few seconds.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from aumai_chaos import ExperimentResult
from tests.cli.support import DEVIATING_EXPERIMENT, run_cli, status_collector

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DURATION_S = 1.0
#: The flush gives up after ~4 s (Telemetry.finish); interpreter start and shutdown add ~1 s.
MAX_DELAY_S = 6.0


@contextlib.contextmanager
def _slamming_door() -> Iterator[int]:
    """Accepts each connection and closes it at once, before reading a byte."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    sock.settimeout(0.1)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except OSError:
                continue
            conn.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
            )
            conn.close()  # linger 0: a reset, not a polite close

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield int(sock.getsockname()[1])
    finally:
        stop.set()
        thread.join(2)
        sock.close()


@contextlib.contextmanager
def _grpc_collector(code_name: str) -> Iterator[int]:
    """An OTLP/gRPC endpoint whose Export calls all fail with status ``code_name``."""
    import grpc

    code = getattr(grpc.StatusCode, code_name)

    def export(request: bytes, context: Any) -> bytes:
        context.abort(code, "refused by the test collector")
        return b""  # pragma: no cover - abort raises

    handlers = [
        grpc.method_handlers_generic_handler(
            f"opentelemetry.proto.collector.{signal}.v1.{service}",
            {"Export": grpc.unary_unary_rpc_method_handler(export)},
        )
        for signal, service in (("trace", "TraceService"), ("metrics", "MetricsService"))
    ]
    server = grpc.server(ThreadPoolExecutor(max_workers=4), handlers=handlers)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield port
    finally:
        server.stop(0).wait(5)


def _warnings(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("aumai-chaos: warning:")]


def _run(
    path: Path, saved: Path, endpoint: str, protocol: str
) -> tuple[Any, float, ExperimentResult]:
    started = time.monotonic()
    result = run_cli(
        "run",
        "-e",
        str(path),
        "-o",
        str(saved),
        "--otlp-endpoint",
        endpoint,
        "--otlp-protocol",
        protocol,
        timeout=60,
    )
    elapsed = time.monotonic() - started
    outcome = ExperimentResult.model_validate_json(saved.read_text(encoding="utf-8"))
    return result, elapsed, outcome


#: (collector, protocol, the experiment deviates, words the warning must hold)
CASES = {
    "http-traces-400": ("http", (400, 200), False, ["traces (", "HTTP 400"]),
    "http-traces-404-deviated": ("http", (404, 200), True, ["traces (", "HTTP 404"]),
    "http-both-400": ("http", (400, 400), False, ["traces (", "metrics (", "HTTP 400"]),
    "http-connection-reset": ("door", None, True, ["traces (", "Connection reset"]),
    "grpc-unavailable": ("grpc", "UNAVAILABLE", False, ["traces (", "collector unavailable"]),
    "grpc-invalid-argument-deviated": ("grpc", "INVALID_ARGUMENT", True, ["INVALID_ARGUMENT"]),
}


@contextlib.contextmanager
def _collector(kind: str, arg: Any) -> Iterator[int]:
    if kind == "http":
        with status_collector(*arg) as port:
            yield port
    elif kind == "door":
        with _slamming_door() as port:
            yield port
    else:
        with _grpc_collector(arg) as port:
            yield port


@pytest.mark.parametrize("case", list(CASES))
def test_a_misbehaving_collector_costs_one_warning_and_nothing_else(
    tmp_path: Path, write_experiment: Callable[..., Path], case: str
) -> None:
    kind, arg, deviates, needles = CASES[case]
    text = DEVIATING_EXPERIMENT if deviates else None
    path = write_experiment(duration=DURATION_S, tick=0.2, text=text)
    saved = tmp_path / "result.json"
    protocol = "grpc" if kind == "grpc" else "http/protobuf"
    with _collector(kind, arg) as port:
        result, elapsed, outcome = _run(path, saved, f"http://127.0.0.1:{port}", protocol)

    assert result.returncode == (1 if deviates else 0), result.stderr
    assert outcome.status.value == "completed"
    assert outcome.summary["total_faults_fired"] > 0
    assert outcome.verdict is not None
    assert outcome.verdict.value == ("deviated" if deviates else "passed")
    assert result.stdout.startswith("Status    : completed\n")
    assert "Traceback" not in result.stderr
    [warning] = _warnings(result.stderr)
    assert f"could not export telemetry to http://127.0.0.1:{port}" in warning
    for needle in needles:
        assert needle in warning, (needle, warning)
    assert elapsed < DURATION_S + MAX_DELAY_S, elapsed
