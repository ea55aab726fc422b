"""The HTTP transport: on while a test that needs it runs, off after; the real openai client."""

from __future__ import annotations

import pytest

from tests.pytest_plugin.conftest import Run

SERVER = """
import httpx
import openai
import pytest

from aumai_chaos.testing import ProviderServer, TextReply
from aumai_chaos.transport import is_instrumented

@pytest.fixture
def server():
    with ProviderServer() as server:
        yield server

def ask(server, retries=2):
    client = openai.OpenAI(base_url=server.openai_base_url, api_key="t", max_retries=retries)
    with client:
        reply = client.chat.completions.create(
            model="any", messages=[{"role": "user", "content": "6 x 7?"}]
        )
    return reply.choices[0].message.content
"""


def test_a_route_fault_turns_the_transport_on_for_that_test_only(
    pytester: pytest.Pytester, run: Run
) -> None:
    pytester.makepyfile(
        test_agent=SERVER
        + """
def test_before(server):
    assert not is_instrumented()

def test_rate_limited_then_answers(chaos, server):
    server.script([TextReply("42")])
    chaos.inject(
        "openai.chat.completions", fault_type="rate_limit", probability=1.0, times=2,
        retry_after_s=0.1,
    )
    assert is_instrumented()
    assert ask(server) == "42"
    assert chaos.fired("openai.chat.completions") == 2
    assert chaos.fired("openai.chat.completions", "rate_limit") == 2
    assert server.request_count("/v1/chat/completions") == 1

@pytest.mark.chaos("openai.chat.completions", fault_type="rate_limit", retry_after_s=0.0)
def test_marker_exhausts_the_retries(server):
    with pytest.raises(openai.RateLimitError):
        ask(server, retries=1)
    assert server.request_count() == 0
    assert is_instrumented()

def test_after(server):
    assert not is_instrumented()
    server.script([TextReply("still 42")])
    assert ask(server) == "still 42"
"""
    )
    run("--chaos-seed", "5", subprocess=True).assert_outcomes(passed=4)


def test_instrument_names_your_own_services(pytester: pytest.Pytester, run: Run) -> None:
    pytester.makepyfile(
        test_agent=SERVER
        + """
def test_vector_db_outage(chaos, server):
    chaos.instrument(routes={"vector_db": server.url + "/v1/embeddings"})
    chaos.inject("vector_db", fault_type="http_error", status_code=503, times=1)
    with httpx.Client() as http:
        first = http.post(server.url + "/v1/embeddings", json={"input": "a", "model": "m"})
        second = http.post(server.url + "/v1/embeddings", json={"input": "a", "model": "m"})
    assert (first.status_code, second.status_code) == (503, 200)
    assert chaos.fired("vector_db") == 1

def test_after():
    assert not is_instrumented()
"""
    )
    run("--chaos-seed", "6", subprocess=True).assert_outcomes(passed=2)


def test_an_application_instrumentation_survives_the_test(
    pytester: pytest.Pytester, run: Run
) -> None:
    pytester.makepyfile(
        test_agent=SERVER
        + """
from aumai_chaos.transport import instrument, uninstrument

def test_with_chaos(chaos, server):
    instrument()
    try:
        chaos.inject("openai.chat.completions", fault_type="http_error", times=1)
        server.script([TextReply("ok")])
        assert ask(server) == "ok"  # one retry after the 503
    finally:
        chaos.assert_verdict()
    assert is_instrumented()
    uninstrument()
"""
    )
    run("--chaos-seed", "7", subprocess=True).assert_outcomes(passed=1)
