"""The proxy's faults are the transport's: the Python ``openai`` SDK through the proxy (a
separate process) sees what it sees through ``ChaosTransport`` in-process with the same fault,
or what a real server's failure gives it (a reset, a silent server, a cut stream)."""

from __future__ import annotations

import itertools
import socket
import struct
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from aumai_chaos.faults import FaultConfig
from aumai_chaos.testing import CutStream, ProviderServer, TextReply, ToolCallReply
from tests.cli.support import BlackHole
from tests.proxy.support import proxy, write_experiment
from tests.transport.support import openai_client

MESSAGES: Any = [{"role": "user", "content": "one two three four five six"}]

ONE_FAULT = """\
experiment_id: py-proxy
name: Python behind the proxy
duration_seconds: {duration}
seed: 3
faults:
  - {fault}
    affected_components: [openai.chat.completions]
"""


@pytest.fixture
def server() -> Iterator[ProviderServer]:
    with ProviderServer() as s:
        yield s


def _experiment(tmp_path: Path, fault: str) -> Path:
    return write_experiment(tmp_path, ONE_FAULT.replace("{fault}", fault))


_OPEN: list[openai.OpenAI] = []


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while _OPEN:
        _OPEN.pop().close()


def _client(base_url: str, timeout: float = 10.0) -> openai.OpenAI:
    client = openai.OpenAI(base_url=base_url, api_key="test", max_retries=0, timeout=timeout)
    _OPEN.append(client)
    return client


def _error(call: Any) -> BaseException:
    try:
        call()
    except Exception as exc:
        return exc
    raise AssertionError("no error")


def _chat(client: openai.OpenAI) -> Any:
    return client.chat.completions.create(model="m", messages=MESSAGES)


def _stream(client: openai.OpenAI, got: list[Any]) -> None:
    for chunk in client.chat.completions.create(model="m", messages=MESSAGES, stream=True):
        got.append(chunk.choices[0].delta.content if chunk.choices else None)


@pytest.mark.parametrize(
    ("fault", "config"),
    [
        (
            "fault_type: rate_limit\n    times: 1\n    retry_after_s: 3",
            {"fault_type": "rate_limit", "retry_after_s": 3},
        ),
        (
            "fault_type: http_error\n    times: 1\n    status_code: 529",
            {"fault_type": "http_error", "status_code": 529},
        ),
        (
            "fault_type: http_error\n    times: 1\n    status_code: 503",
            {"fault_type": "http_error", "status_code": 503},
        ),
    ],
)
def test_an_answer_is_the_transports_answer(
    server: ProviderServer, tmp_path: Path, fault: str, config: dict[str, Any]
) -> None:
    local, _ = openai_client(server, "httpx2", [FaultConfig.model_validate(config)])
    _OPEN.append(local)
    expected: Any = _error(lambda: _chat(local))
    with proxy(_experiment(tmp_path, fault), server.url) as run:
        got: Any = _error(lambda: _chat(_client(run.url + "/v1")))
    assert type(got) is type(expected)
    assert got.status_code == expected.status_code
    assert got.body == expected.body
    assert got.response.content == expected.response.content
    for name in ("content-type", "retry-after", "retry-after-ms", "x-should-retry"):
        assert got.response.headers.get(name) == expected.response.headers.get(name), name
    assert server.request_count() == 0


def _resetting_server() -> tuple[socket.socket, threading.Thread]:
    """A server that reads a request, works on it a moment, and crashes: the client, waiting
    for the answer, gets a reset."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)

    def serve() -> None:
        conn, _ = sock.accept()
        conn.recv(65536)
        threading.Event().wait(0.3)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return sock, thread


def test_connect_error_is_a_reset_of_the_clients_connection(
    server: ProviderServer, tmp_path: Path
) -> None:
    sock, thread = _resetting_server()
    with sock:
        real = _error(lambda: _chat(_client(f"http://127.0.0.1:{sock.getsockname()[1]}/v1")))
        thread.join(5)
    with proxy(_experiment(tmp_path, "fault_type: connect_error\n    times: 1"), server.url) as run:
        client = _client(run.url + "/v1")
        injected = _error(lambda: _chat(client))
        assert _chat(client).choices[0].message.content  # the next request goes through
    assert type(injected) is type(real) is openai.APIConnectionError
    assert type(injected.__cause__) is type(real.__cause__)
    assert server.request_count() == 1


def test_read_timeout_is_no_answer(server: ProviderServer, tmp_path: Path) -> None:
    with BlackHole() as port:
        real = _error(lambda: _chat(_client(f"http://127.0.0.1:{port}/v1", timeout=0.5)))
    with proxy(_experiment(tmp_path, "fault_type: read_timeout\n    times: 1"), server.url) as run:
        injected = _error(lambda: _chat(_client(run.url + "/v1", timeout=0.5)))
        assert _chat(_client(run.url + "/v1")).choices[0].message.content
    assert type(injected) is type(real) is openai.APITimeoutError
    assert type(injected.__cause__) is type(real.__cause__)
    assert server.request_count() == 1  # the held request never reached the upstream


def test_a_cut_stream_is_a_real_reset(server: ProviderServer, tmp_path: Path) -> None:
    text = "one two three four five six"
    server.script([TextReply(text, disrupt=CutStream(after_events=2)), TextReply(text)])
    real_chunks: list[Any] = []
    real = _error(lambda: _stream(_client(server.openai_base_url), real_chunks))
    exp = _experiment(tmp_path, "fault_type: stream_cut\n    after_chunks: 2\n    times: 1")
    with proxy(exp, server.url) as run:
        chunks: list[Any] = []
        injected = _error(lambda: _stream(_client(run.url + "/v1"), chunks))
    assert type(injected) is type(real)
    assert type(injected.__context__) is type(real.__context__)
    assert str(injected) == str(real)
    assert chunks == real_chunks
    assert len(chunks) == 2


@pytest.mark.parametrize(
    "fault",
    [
        "fault_type: truncated_stream\n    times: 1",
        "fault_type: malformed_chunk\n    after_chunks: 2\n    times: 1",
        "fault_type: stream_error_event\n    after_chunks: 2\n    times: 1",
    ],
)
def test_a_stream_fault_is_the_transports(
    server: ProviderServer, tmp_path: Path, fault: str
) -> None:
    kind = fault.split(":")[1].split()[0]
    config = {"fault_type": kind, **({"after_chunks": 2} if "after_chunks" in fault else {})}
    local, _ = openai_client(server, "httpx2", [FaultConfig.model_validate(config)])
    _OPEN.append(local)
    expected: list[Any] = []
    expected_error = repr(_maybe(lambda: _stream(local, expected)))
    with proxy(_experiment(tmp_path, fault), server.url) as run:
        got: list[Any] = []
        got_error = repr(_maybe(lambda: _stream(_client(run.url + "/v1"), got)))
    assert got == expected
    assert got_error == expected_error
    clean: list[Any] = []
    _stream(_client(server.openai_base_url), clean)
    assert (got, got_error) != (clean, "None")  # the fault acted


def _maybe(call: Any) -> BaseException | None:
    try:
        call()
    except Exception as exc:
        return exc
    return None


def test_a_malformed_tool_call_is_the_transports(server: ProviderServer, tmp_path: Path) -> None:
    tools: Any = [{"type": "function", "function": {"name": "search", "parameters": {}}}]
    server.script([ToolCallReply("search", {"query": "chaos"})] * 2)
    local, _ = openai_client(server, "httpx2", [FaultConfig(fault_type="malformed_tool_call")])
    _OPEN.append(local)
    expected = local.chat.completions.create(model="m", messages=MESSAGES, tools=tools)
    exp = _experiment(tmp_path, "fault_type: malformed_tool_call\n    times: 1")
    with proxy(exp, server.url) as run:
        got = _client(run.url + "/v1").chat.completions.create(
            model="m", messages=MESSAGES, tools=tools
        )
    got_call = got.choices[0].message.tool_calls[0]  # type: ignore[index]
    expected_call = expected.choices[0].message.tool_calls[0]  # type: ignore[index]
    assert got_call.function.arguments == expected_call.function.arguments  # type: ignore[union-attr]
    assert got_call.function.arguments.startswith('{"query"')  # type: ignore[union-attr]


def test_a_fault_scoped_to_one_upstream_spares_the_other(tmp_path: Path) -> None:
    """Named upstreams: a request under /NAME/ goes to that upstream, and a fault on one
    upstream's host leaves the other alone."""
    with ProviderServer() as a, ProviderServer() as b:
        text = ONE_FAULT.replace("{fault}", "fault_type: http_error\n    status_code: 503").replace(
            "[openai.chat.completions]", "[localhost]"
        )
        exp = write_experiment(tmp_path, text)
        b_url = b.url.replace("127.0.0.1", "localhost")
        with proxy(exp, f"a={a.url}", f"b={b_url}/v1") as run:
            ok = httpx.get(run.url + "/a/v1/models", timeout=10)
            failed = httpx.get(run.url + "/b/models", timeout=10)
            missing = httpx.get(run.url + "/c/models", timeout=10)
    assert ok.status_code == 200
    assert failed.status_code == 503
    assert missing.status_code == 404
    assert "/a/, /b/" in missing.json()["error"]["message"]
    assert a.request_count() == 1
    assert b.request_count() == 0


def test_a_stall_holds_the_stream_where_it_is(server: ProviderServer, tmp_path: Path) -> None:
    direct: list[Any] = []
    _stream(_client(server.openai_base_url), direct)
    exp = _experiment(
        tmp_path,
        "fault_type: stream_stall\n    after_chunks: 2\n    duration_ms: 400\n    times: 1",
    )
    with proxy(exp, server.url) as run:
        stamps: list[float] = []
        got: list[Any] = []
        stream = _client(run.url + "/v1").chat.completions.create(
            model="m", messages=MESSAGES, stream=True
        )
        for chunk in stream:
            stamps.append(time.monotonic())
            got.append(chunk.choices[0].delta.content if chunk.choices else None)
    assert got == direct  # everything arrives, late
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    assert gaps[1] >= 0.35  # between the second chunk and the third: the stall
