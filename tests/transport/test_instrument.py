"""``instrument()`` / ``uninstrument()``: zero-code, every httpx and httpx2 client, restored
exactly; experiments target route names; the fault span sits under the SDK call's span."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import openai
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import aumai_chaos
from aumai_chaos.errors import ConfigError
from aumai_chaos.faults import ErrorFault, RateLimitFault
from aumai_chaos.testing import ProviderServer
from aumai_chaos.transport import ChaosTransport, instrument, is_instrumented, uninstrument
from tests.helpers import run_python
from tests.transport.support import CHAT, LIBRARIES, MESSAGES, chat, experiment, lib, run_experiment


def _originals() -> dict[tuple[str, str], Any]:
    found = {}
    for name in LIBRARIES:
        module = lib(name)
        found[(name, "sync")] = module.HTTPTransport.__dict__["handle_request"]
        found[(name, "async")] = module.AsyncHTTPTransport.__dict__["handle_async_request"]
    return found


def test_instrument_patches_both_libraries_and_uninstrument_restores_them() -> None:
    before = _originals()
    instrument()
    assert is_instrumented()
    patched = _originals()
    for key, original in before.items():
        assert patched[key] is not original, key
        assert patched[key].__wrapped__ is original, key
    uninstrument()
    assert not is_instrumented()
    assert _originals() == before
    uninstrument()  # idempotent
    assert _originals() == before


def test_instrument_is_idempotent() -> None:
    before = _originals()
    instrument()
    once = _originals()
    instrument(routes={"models": "GET http://127.0.0.1:*/v1/models"})
    assert _originals() == once  # no second layer
    for key, original in before.items():
        assert once[key].__wrapped__ is original
    uninstrument()
    assert _originals() == before


def test_a_bad_route_changes_nothing() -> None:
    before = _originals()
    with pytest.raises(ConfigError, match="cannot match"):
        instrument(routes={"db": "qdrant:6333/*"})
    assert _originals() == before
    assert not is_instrumented()


def test_no_experiment_no_fault_and_no_span(
    server: ProviderServer, tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter
) -> None:
    instrument(tracer_provider=tracer_provider)
    with openai.OpenAI(base_url=server.openai_base_url, api_key="t", max_retries=0) as client:
        assert chat(client) == "You said: hello"
    assert span_exporter.get_finished_spans() == ()


@pytest.mark.parametrize("library", LIBRARIES)
@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_an_experiment_on_the_chat_route_reaches_every_kind_of_client(
    server: ProviderServer, library: str, is_async: bool
) -> None:
    instrument()
    module = lib(library)
    outcomes: list[str] = []

    # Three requests per iteration, so that the first iteration alone shows the rule, however
    # slow the machine.
    def sync_work() -> None:
        http = module.Client()
        with openai.OpenAI(
            base_url=server.openai_base_url, api_key="t", max_retries=0, http_client=http
        ) as client:
            for _ in range(3):
                try:
                    chat(client)
                    outcomes.append("ok")
                except openai.RateLimitError:
                    outcomes.append("429")

    async def async_work() -> None:
        async with openai.AsyncOpenAI(
            base_url=server.openai_base_url,
            api_key="t",
            max_retries=0,
            http_client=module.AsyncClient(),
        ) as client:
            for _ in range(3):
                try:
                    await client.chat.completions.create(model="m", messages=MESSAGES)
                    outcomes.append("ok")
                except openai.RateLimitError:
                    outcomes.append("429")

    fault = RateLimitFault(times=2, retry_after_s=0.01)
    exp = experiment(fault, seconds=1.5)
    result = run_experiment(exp, async_work if is_async else sync_work)
    assert outcomes[:3] == ["429", "429", "ok"]
    assert result.summary["total_faults_fired"] == 2
    calls = result.summary["components"][CHAT]["calls"]
    assert calls == len(outcomes)
    assert server.request_count("/v1/chat/completions") == calls - 2


def test_the_sdks_own_client_is_covered_and_uninstrument_stops_it(server: ProviderServer) -> None:
    instrument()
    client = openai.OpenAI(base_url=server.openai_base_url, api_key="t", max_retries=0)
    failures: list[int] = []

    def work() -> None:
        try:
            chat(client)
        except openai.InternalServerError as exc:
            failures.append(exc.status_code)

    run_experiment(experiment(ErrorFault(error_code=503, times=1)), work)
    assert failures == [503]
    uninstrument()
    before = server.request_count()
    run_experiment(experiment(ErrorFault(error_code=503, times=1)), work)
    assert failures == [503]  # no fault once uninstrumented
    assert server.request_count() > before
    client.close()


def test_user_routes_name_other_services(server: ProviderServer) -> None:
    instrument(routes={"model_list": f"GET {server.url}/v1/models"})
    statuses: list[int] = []
    with lib("httpx").Client() as http:

        def work() -> None:
            statuses.append(http.get(f"{server.url}/v1/models").status_code)
            statuses.append(http.post(f"{server.url}/v1/models").status_code)  # not the route

        exp = experiment(ErrorFault(error_code=503), component="model_list", seconds=1.5)
        result = run_experiment(exp, work)
    assert statuses[0] == 503
    gets, posts = statuses[::2], statuses[1::2]
    assert 503 not in posts  # the POST is not the route...
    route = result.summary["components"]["model_list"]
    assert route["calls"] == len(gets)
    assert route["faults"] == gets.count(503) >= len(gets) - 1  # the last may end the window
    # ...and reached the server, as did the GETs that the experiment's window let through
    assert server.request_count("/v1/models") == len(posts) + len(gets) - route["faults"]


def test_any_other_request_is_named_by_its_host(server: ProviderServer) -> None:
    instrument()
    statuses: list[int] = []
    with lib("httpx2").Client() as http:

        def work() -> None:
            statuses.append(http.get(f"{server.url}/v1/models").status_code)
            statuses.append(http.get(f"{server.url}/v1/models").status_code)

        exp = experiment(ErrorFault(error_code=500, times=1), component="127.0.0.1", seconds=1.5)
        run_experiment(exp, work)
    assert statuses[:2] == [500, 200]


def test_the_kill_switch_stops_transport_faults(server: ProviderServer) -> None:
    instrument()
    outcomes: list[str] = []

    def work() -> None:
        with openai.OpenAI(base_url=server.openai_base_url, api_key="t", max_retries=0) as c:
            try:
                chat(c)
                outcomes.append("ok")
            except openai.APIError:
                outcomes.append("fault")

    aumai_chaos.disable()
    result = run_experiment(experiment(ErrorFault(error_code=503)), work)
    assert outcomes
    assert set(outcomes) == {"ok"}
    assert result.summary["total_faults_fired"] == 0


def test_a_chaos_transport_under_instrument_applies_experiments_once(
    server: ProviderServer,
) -> None:
    instrument()
    statuses: list[int] = []
    with lib("httpx2").Client(transport=ChaosTransport()) as http:

        def work() -> None:
            response = http.post(f"{server.openai_base_url}/chat/completions", json={"m": 1})
            statuses.append(response.status_code)

        exp = experiment(ErrorFault(error_code=503, times=2), seconds=1.5)
        result = run_experiment(exp, work)
    assert statuses[:2] == [503, 503]
    assert set(statuses[2:]) <= {200}
    # each request is one call into the route, counted once, faulted at most once
    assert result.summary["components"][CHAT]["faults"] == 2
    assert result.summary["components"][CHAT]["calls"] == len(statuses)


def test_async_waits_do_not_block_the_loop_under_instrument(server: ProviderServer) -> None:
    instrument()
    from aumai_chaos.faults import LatencyFault

    ticks: list[float] = []

    async def work() -> None:
        async def tick() -> None:
            for _ in range(5):
                ticks.append(asyncio.get_running_loop().time())
                await asyncio.sleep(0.02)

        async with openai.AsyncOpenAI(
            base_url=server.openai_base_url, api_key="t", max_retries=0
        ) as client:
            await asyncio.gather(
                client.chat.completions.create(model="m", messages=MESSAGES), tick()
            )

    run_experiment(experiment(LatencyFault(duration_ms=200, times=1)), work)
    assert len(ticks) >= 5


def test_an_experiment_block_on_a_route(server: ProviderServer) -> None:
    """``aumai_chaos.experiment()`` around real SDK calls: the faults act inside the block."""
    instrument()
    with openai.OpenAI(base_url=server.openai_base_url, api_key="t", max_retries=2) as client:
        with aumai_chaos.experiment(
            target_components=[CHAT], faults=[RateLimitFault(times=2, retry_after_s=0.05)]
        ) as block:
            assert chat(client) == "You said: hello"  # the SDK retried twice
            assert block.fired(CHAT, "rate_limit") == 2
        assert block.result is not None
        assert block.result.summary["total_faults_fired"] == 2
        assert server.request_count() == 1
        assert chat(client) == "You said: hello"  # after the block: no fault
    assert server.request_count() == 2


def test_importing_aumai_chaos_imports_no_client_library() -> None:
    code = (
        "import sys, aumai_chaos, aumai_chaos.transport\n"
        "loaded = [m for m in ('httpx', 'httpx2', 'openai', 'anthropic') if m in sys.modules]\n"
        "assert not loaded, loaded\n"
    )
    result = run_python(code)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("trace_calls", ["all", "faults"])
def test_http_failures_count_as_failed_calls(server: ProviderServer, trace_calls: str) -> None:
    """An injected 503 and a real 500 from the server are both failed calls of the route,
    with and without component-call spans."""
    from aumai_chaos.testing import HTTPReply

    instrument()
    server.script([HTTPReply(500, {"error": {"message": "real", "type": "server_error"}})])
    with openai.OpenAI(base_url=server.openai_base_url, api_key="t", max_retries=0) as client:
        with aumai_chaos.experiment(
            target_components=[CHAT],
            trace_calls=trace_calls,
            faults=[ErrorFault(error_code=503, times=1)],
        ) as block:
            for _ in range(3):
                with contextlib.suppress(openai.InternalServerError):
                    chat(client)
        assert block.result is not None
        route = block.result.summary["components"][CHAT]
    assert route["calls"] == 3
    assert route["error_types"] == {"503": 1, "500": 1}
