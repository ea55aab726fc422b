"""``errors_by_type`` counts every fault that failed its call, wherever it acted: a transport
fault that answers with an HTTP error (``rate_limit``'s 429) or raises the client's own error
(``connect_error``) counts as ``error`` raised at a decorated call does, so that it adds up
with the components' ``errors``."""

from __future__ import annotations

import openai

import aumai_chaos
from aumai_chaos.faults import ConnectErrorFault, LatencyFault, RateLimitFault
from aumai_chaos.testing import ProviderServer
from aumai_chaos.transport import ChaosTransport
from tests.transport.support import CHAT, MESSAGES, lib, one_connection


def test_transport_failures_are_in_errors_by_type(server: ProviderServer) -> None:
    http = lib("httpx2").Client(transport=ChaosTransport(one_connection("httpx2")))
    client = openai.OpenAI(
        base_url=server.openai_base_url, api_key="t", max_retries=0, http_client=http
    )
    failures = 0
    with (
        client,
        aumai_chaos.experiment(
            faults=[
                RateLimitFault(times=3, retry_after_s=0.01),
                ConnectErrorFault(after_calls=3, times=2),
                LatencyFault(duration_ms=0, after_calls=5),
            ],
            target_components=[CHAT],
            scope="process",
            seed=3,
        ) as run,
    ):
        for _ in range(7):
            try:
                client.chat.completions.create(model="m", messages=MESSAGES)
            except (openai.RateLimitError, openai.APIConnectionError):
                failures += 1
    assert run.result is not None
    summary = run.result.summary
    assert failures == 5
    assert summary["faults_by_type"] == {"rate_limit": 3, "connect_error": 2, "latency": 2}
    assert summary["errors_by_type"] == {"rate_limit": 3, "connect_error": 2}
    assert summary["components"][CHAT]["errors"] == sum(summary["errors_by_type"].values())


def test_which_fault_types_fail_their_call() -> None:
    """The faults ``errors_by_type`` counts; a delay or a rewritten success is not a failure."""
    from aumai_chaos.faults import FaultType

    assert {t.value for t in FaultType if t.fails} == {
        "error",
        "timeout",
        "resource_exhaustion",
        "stream_cut",
        "rate_limit",
        "http_error",
        "connect_error",
        "read_timeout",
        "context_overflow",
        "stream_error_event",
        "jsonrpc_error",
        "mcp_timeout",
        "mcp_disconnect",
    }
