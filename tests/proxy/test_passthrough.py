"""With no fault firing, the proxy is transparent: the bytes a client receives are the
upstream's (httpx raw, curl, the Python ``openai`` SDK), events stream as they come, and the
request the upstream sees is the client's (hop-by-hop fields dropped, Host and Content-Length
its own)."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from aumai_chaos.testing import ProviderServer
from tests.proxy.support import NO_FAULT, Running, proxy, result_of, write_experiment
from tests.proxy.upstream import EVENTS, GZIP_BODY, JSON_BODY, Upstream, fixed_upstream


@pytest.fixture(scope="module")
def upstream() -> Iterator[Upstream]:
    with fixed_upstream() as up:
        yield up


@pytest.fixture(scope="module")
def running(upstream: Upstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    folder = tmp_path_factory.mktemp("proxy")
    with proxy(write_experiment(folder, NO_FAULT), upstream.url) as run:
        yield run


def _raw(url: str, method: str = "GET") -> tuple[httpx.Response, list[bytes]]:
    with httpx.Client(timeout=10) as client, client.stream(method, url) as response:
        chunks = list(response.iter_raw())
    return response, chunks


def test_json_bytes_equal_a_direct_request(upstream: Upstream, running: Running) -> None:
    direct, direct_chunks = _raw(upstream.url + "/v1/json")
    proxied, proxied_chunks = _raw(running.url + "/v1/json")
    assert b"".join(proxied_chunks) == b"".join(direct_chunks) == JSON_BODY
    assert proxied.status_code == 200
    assert proxied.headers["x-fixed"] == "1"
    assert proxied.headers["content-length"] == str(len(JSON_BODY))
    assert proxied.headers["server"] == direct.headers["server"]  # the upstream's, not uvicorn's
    # Hop-by-hop fields of the upstream's connection stay on it (RFC 9110 7.6.1).
    assert direct.headers["x-upstream-hop"] == "1"
    assert "x-upstream-hop" not in proxied.headers
    assert "keep-alive" not in proxied.headers


def test_an_encoded_body_crosses_still_encoded(upstream: Upstream, running: Running) -> None:
    proxied, chunks = _raw(running.url + "/gzip")
    assert b"".join(chunks) == GZIP_BODY
    assert proxied.headers["content-encoding"] == "gzip"
    assert httpx.get(running.url + "/gzip", timeout=10).content == JSON_BODY


def test_events_stream_through_one_by_one(upstream: Upstream, running: Running) -> None:
    upstream.gate.clear()
    received = b""
    with (
        httpx.Client(timeout=10) as client,
        client.stream("GET", running.url + "/gated") as response,
    ):
        assert response.headers["content-type"] == "text/event-stream"
        assert "content-length" not in response.headers
        raw = response.iter_raw()
        # The upstream holds the second event until the first has reached us: the proxy
        # cannot be buffering.
        while not received.endswith(b"\n\n"):
            received += next(raw)
        assert received == EVENTS[0]
        upstream.gate.set()
        for chunk in raw:
            received += chunk
    events = [e + b"\n\n" for e in received.split(b"\n\n") if e]
    assert events == EVENTS


def test_sse_chunk_by_chunk_equals_a_direct_request(upstream: Upstream, running: Running) -> None:
    _, direct = _raw(upstream.url + "/sse")
    _, proxied = _raw(running.url + "/sse")
    # TCP may join chunks differently on each path: compare event by event, and the bytes.
    assert b"".join(proxied) == b"".join(direct) == b"".join(EVENTS)
    split = [e for e in b"".join(proxied).split(b"\n\n") if e]
    assert [e + b"\n\n" for e in split] == EVENTS


@pytest.mark.parametrize("path", ["/v1/json", "/v1/sse", "/gzip"])
def test_curl_gets_the_same_bytes(upstream: Upstream, running: Running, path: str) -> None:
    assert shutil.which("curl") is not None, "curl is needed (Debian's curl package)"

    def curl(url: str) -> bytes:
        return subprocess.run(
            ["curl", "-sS", "--max-time", "10", url], capture_output=True, check=True
        ).stdout

    assert curl(running.url + path) == curl(upstream.url + path)


def test_the_upstream_sees_the_clients_request(upstream: Upstream, running: Running) -> None:
    body = b'{"model": "m", "input": "x"}'
    headers = {
        "connection": "keep-alive, x-hop",
        "x-hop": "dropped",
        "keep-alive": "timeout=5",
        "x-end-to-end": "kept",
        "expect": "100-continue",
        "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    }
    response = httpx.post(
        running.url + "/v1/echo?a=1&b=%2F", content=body, headers=headers, timeout=10
    )
    seen = response.json()
    names = dict(seen["headers"])
    assert seen["method"] == "POST"
    assert seen["path"] == "/v1/echo?a=1&b=%2F"
    assert seen["body"] == body.decode()
    assert names["host"] == upstream.url.removeprefix("http://")
    assert names["content-length"] == str(len(body))
    assert names["x-end-to-end"] == "kept"
    assert "x-hop" not in names
    assert "keep-alive" not in names
    assert "expect" not in names  # the proxy answered it and read the body
    assert names.get("connection", "keep-alive") == "keep-alive"  # httpx's own, to the upstream
    # No telemetry configured: the proxy records no span, and the client's context passes on.
    assert names["traceparent"] == headers["traceparent"]


def _read_all(sock: socket.socket) -> bytes:
    data = b""
    for _ in range(1000):  # bounded: the proxy closes the connection
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
    return data


def test_not_a_forward_proxy(running: Running) -> None:
    """An absolute-form request (``GET http://elsewhere/``) is refused with a 404 that says
    why; the proxy only ever talks to its upstreams."""
    port = int(running.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(
            b"GET http://example.invalid/ HTTP/1.1\r\nHost: example.invalid\r\n"
            b"Connection: close\r\n\r\n"
        )
        answer = _read_all(sock)
    assert answer.startswith(b"HTTP/1.1 404"), answer
    assert b"no upstream" in answer


def test_a_malformed_request_never_crashes_it(upstream: Upstream, running: Running) -> None:
    port = int(running.url.rsplit(":", 1)[1])
    for garbage in (
        b"NOT HTTP AT ALL\r\n\r\n",
        b"POST /v1/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc",  # then gone
        b"GET /v1/json HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
    ):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(garbage)
            sock.shutdown(socket.SHUT_WR)
            answer = _read_all(sock)
        assert answer == b"" or answer.startswith(b"HTTP/1.1 4"), answer
    assert httpx.get(running.url + "/v1/json", timeout=10).content == JSON_BODY


def test_an_unreachable_upstream_is_a_502_that_says_so(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}"  # bound, never listening
        with proxy(write_experiment(tmp_path, NO_FAULT), dead) as run:
            response = httpx.get(run.url + "/v1/json", timeout=10)
    assert response.status_code == 502
    error = response.json()["error"]
    assert "upstream 127.0.0.1 failed" in error["message"]
    assert "ConnectError" in error["message"]


def test_python_openai_through_the_proxy_equals_direct(tmp_path: Path) -> None:
    with (
        ProviderServer() as server,
        proxy(write_experiment(tmp_path, NO_FAULT), server.url) as run,
    ):
        direct = openai.OpenAI(base_url=server.openai_base_url, api_key="k", max_retries=0)
        proxied = openai.OpenAI(base_url=run.url + "/v1", api_key="k", max_retries=0)
        messages = [{"role": "user", "content": "chaos"}]
        a = direct.chat.completions.create(model="m", messages=messages)  # type: ignore[arg-type]
        b = proxied.chat.completions.create(model="m", messages=messages)  # type: ignore[arg-type]
        assert b.choices[0].message == a.choices[0].message
        stream_a = direct.chat.completions.create(model="m", messages=messages, stream=True)  # type: ignore[arg-type]
        stream_b = proxied.chat.completions.create(model="m", messages=messages, stream=True)  # type: ignore[arg-type]
        deltas_a = [c.choices[0].delta.content for c in stream_a if c.choices]
        deltas_b = [c.choices[0].delta.content for c in stream_b if c.choices]
        assert deltas_b == deltas_a
        assert len(deltas_a) > 2
        assert server.request_count() == 4


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_ends_it_with_the_result_written(
    upstream: Upstream, tmp_path: Path, sig: signal.Signals
) -> None:
    out = tmp_path / "result.json"
    with proxy(write_experiment(tmp_path, NO_FAULT), upstream.url, output=out) as run:
        for _ in range(3):
            assert httpx.get(run.url + "/v1/json", timeout=10).status_code == 200
        code = run.stop(sig)
    assert code == 130, run.stderr
    result = result_of(out)
    assert result["status"] == "aborted"
    assert result["summary"]["components"]["127.0.0.1"]["calls"] == 3
    assert "Status    : aborted" in run.stdout
