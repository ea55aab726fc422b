"""The kill switch stops every fault, and every watched call is still counted: a decorated
component and a transport component, in one experiment block, against a real server."""

from __future__ import annotations

import aumai_chaos
from aumai_chaos import chaos_target
from aumai_chaos.testing import ProviderServer
from aumai_chaos.transport import ChaosTransport
from tests.experiments.support import unique
from tests.transport.support import lib


def test_both_components_are_counted_and_nothing_fires(server: ProviderServer) -> None:
    tool_name, llm = unique("tool"), unique("llm")

    @chaos_target(tool_name)
    def tool() -> int:
        return 1

    aumai_chaos.disable()
    with (
        lib("httpx").Client(transport=ChaosTransport(component=llm)) as http,
        aumai_chaos.experiment(
            faults=[{"fault_type": "error", "error_code": 503}],
            target_components=[tool_name, llm],
        ) as run,
    ):
        assert tool() == 1
        for _ in range(2):
            response = http.post(f"{server.openai_base_url}/chat/completions", json={"m": 1})
            assert response.status_code == 200
    assert run.result is not None
    summary = run.result.summary
    assert summary["total_faults_fired"] == 0
    assert {n: s["calls"] for n, s in summary["components"].items()} == {tool_name: 1, llm: 2}
    assert run.result.injection_disabled
