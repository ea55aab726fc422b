"""The real openai SDK against ProviderServer: its own retries are separate transport calls
under one SDK call, so a rate limit it retries past is ``recovered`` by ``retry``; with no
retries left, the ``RateLimitError`` ends the unit and the faults are ``propagated``."""

from __future__ import annotations

import asyncio

import openai
import pytest

import aumai_chaos
from aumai_chaos.faults import RateLimitFault
from aumai_chaos.testing import ProviderServer
from aumai_chaos.transport import instrument
from tests.transport.support import CHAT, achat, chat


@pytest.mark.parametrize("trace_calls", ["all", "faults"])
def test_the_sdk_s_own_retries_are_a_retry(server: ProviderServer, trace_calls: str) -> None:
    instrument()
    with (
        openai.OpenAI(base_url=server.openai_base_url, api_key="t", max_retries=2) as client,
        aumai_chaos.experiment(
            target_components=[CHAT],
            faults=[RateLimitFault(times=2, retry_after_s=0.01)],
            trace_calls=trace_calls,
        ) as run,
    ):
        for i in range(3):
            with run.unit(f"question {i}"):
                assert chat(client) == "You said: hello"
    assert run.result is not None
    (row,) = run.result.summary.recovery
    assert (row.fault_type, row.component) == ("rate_limit", CHAT)
    assert (row.fired, row.recovered, row.propagated, row.unknown) == (2, 2, 0, 0)
    assert row.mechanisms == {"retry": 2, "fallback": 0, "absorbed": 0}
    assert row.recovery_ms_p50 >= 10.0  # at least the retry-after the SDK honoured


def test_an_sdk_without_retries_lets_the_rate_limit_out(server: ProviderServer) -> None:
    instrument()

    async def main() -> aumai_chaos.ExperimentResult | None:
        async with (
            openai.AsyncOpenAI(
                base_url=server.openai_base_url, api_key="t", max_retries=0
            ) as client,
            aumai_chaos.experiment(
                target_components=[CHAT], faults=[RateLimitFault(times=2, retry_after_s=0.01)]
            ) as run,
        ):
            for i in range(3):
                try:
                    async with run.unit(f"question {i}"):
                        await achat(client)
                except openai.RateLimitError:
                    pass
        return run.result

    result = asyncio.run(main())
    assert result is not None
    (row,) = result.summary.recovery
    assert (row.fired, row.recovered, row.propagated) == (2, 0, 2)
    assert row.rate == 0.0
