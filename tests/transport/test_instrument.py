"""``instrument()`` / ``uninstrument()``: zero-code, every httpx and httpx2 client, restored
exactly; experiments target route names; the fault span sits under the SDK call's span."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import aumai_chaos
from aumai_chaos import ChaosExperiment, ExperimentResult, ExperimentScheduler, ExperimentStatus
from aumai_chaos.errors import ConfigError
from aumai_chaos.faults import ErrorFault, RateLimitFault
from aumai_chaos.testing import ProviderServer
from aumai_chaos.transport import ChaosTransport, instrument, is_instrumented, uninstrument
from tests.helpers import fault_spans
from tests.transport.support import LIBRARIES, MESSAGES, chat, lib

CHAT = "openai.chat.completions"


def _originals() -> dict[tuple[str, str], Any]:
    found = {}
    for name in LIBRARIES:
        module = lib(name)
        found[(name, "sync")] = module.HTTPTransport.__dict__["handle_request"]
        found[(name, "async")] = module.AsyncHTTPTransport.__dict__["handle_async_request"]
    return found


def run_experiment(
    exp: ChaosExperiment, workload: Any, tracer_provider: TracerProvider | None = None
) -> ExperimentResult:
    scheduler = ExperimentScheduler(tracer_provider=tracer_provider)
    result = scheduler.run(scheduler.schedule(exp), workload=workload)
    assert result.status is ExperimentStatus.completed, result.error
    return result


def experiment(*faults: Any, component: str = CHAT, seconds: float = 0.6) -> ChaosExperiment:
    return ChaosExperiment(
        experiment_id=f"transport-{id(faults)}",
        name="transport",
        duration_seconds=seconds,
        tick_seconds=seconds,
        target_components=[component],
        faults=list(faults),
        seed=11,
        require_faults_fired=False,
    )


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

    def sync_work() -> None:
        http = module.Client()
        with openai.OpenAI(
            base_url=server.openai_base_url, api_key="t", max_retries=0, http_client=http
        ) as client:
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
            try:
                await client.chat.completions.create(model="m", messages=MESSAGES)
                outcomes.append("ok")
            except openai.RateLimitError:
                outcomes.append("429")

    fault = RateLimitFault(times=2, retry_after_s=0.01)
    result = run_experiment(experiment(fault), async_work if is_async else sync_work)
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
    httpx = lib("httpx")
    statuses: list[int] = []

    def work() -> None:
        with httpx.Client() as http:
            statuses.append(http.get(f"{server.url}/v1/models").status_code)
            statuses.append(http.post(f"{server.url}/v1/models").status_code)  # not the route

    result = run_experiment(experiment(ErrorFault(error_code=503), component="model_list"), work)
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
    httpx2 = lib("httpx2")
    statuses: list[int] = []

    def work() -> None:
        with httpx2.Client() as http:
            statuses.append(http.get(f"{server.url}/v1/models").status_code)

    run_experiment(experiment(ErrorFault(error_code=500, times=1), component="127.0.0.1"), work)
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
    httpx2 = lib("httpx2")
    statuses: list[int] = []

    def work() -> None:
        with httpx2.Client(transport=ChaosTransport()) as http:
            response = http.post(f"{server.openai_base_url}/chat/completions", json={"m": 1})
            statuses.append(response.status_code)

    result = run_experiment(experiment(ErrorFault(error_code=503, times=2)), work)
    assert statuses[:2] == [503, 503]
    assert set(statuses[2:]) <= {200}
    # each request is one call into the route, counted once, faulted at most once
    assert result.summary["components"][CHAT]["faults"] == 2
    assert result.summary["components"][CHAT]["calls"] == len(statuses)


@pytest.fixture
def genai(tracer_provider: TracerProvider) -> Iterator[None]:
    from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor

    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider)
    yield
    instrumentor.uninstrument()


def _ancestors(span: ReadableSpan, spans: dict[int, ReadableSpan]) -> list[str]:
    names = []
    parent = span.parent
    while parent is not None and parent.span_id in spans:
        ancestor = spans[parent.span_id]
        names.append(ancestor.name)
        parent = ancestor.parent
    return names


@pytest.mark.usefixtures("genai")
def test_the_fault_span_is_a_descendant_of_the_genai_chat_span(
    server: ProviderServer, tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter
) -> None:
    instrument(tracer_provider=tracer_provider)

    def work() -> None:
        with (
            openai.OpenAI(base_url=server.openai_base_url, api_key="t", max_retries=0) as c,
            contextlib.suppress(openai.RateLimitError),
        ):
            chat(c)

    run_experiment(experiment(RateLimitFault(times=1)), work, tracer_provider)
    spans = {s.context.span_id: s for s in span_exporter.get_finished_spans()}
    (fault,) = fault_spans(span_exporter)
    chain = _ancestors(fault, spans)
    assert chain[0] == CHAT  # the component-call span of the route
    assert "chat gpt-test" in chain  # the GenAI span of the SDK call
    assert chain[-1] == "chaos.experiment"


@pytest.mark.usefixtures("genai")
def test_a_transports_own_fault_sits_under_the_genai_span_with_its_event(
    server: ProviderServer, tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter
) -> None:
    httpx2 = lib("httpx2")
    transport = ChaosTransport(faults=[RateLimitFault(times=1)], tracer_provider=tracer_provider)
    with (
        openai.OpenAI(
            base_url=server.openai_base_url,
            api_key="t",
            max_retries=0,
            http_client=httpx2.Client(transport=transport),
        ) as client,
        pytest.raises(openai.RateLimitError),
    ):
        chat(client)
    spans = {s.context.span_id: s for s in span_exporter.get_finished_spans()}
    (fault,) = fault_spans(span_exporter)
    parent = spans[fault.parent.span_id]  # type: ignore[union-attr]
    assert parent.name == "chat gpt-test"
    (event,) = [e for e in parent.events if e.name == "chaos.fault.injected"]
    assert event.attributes == fault.attributes


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
