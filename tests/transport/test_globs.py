"""A ``ChaosTransport``'s own faults take globs in ``affected_components`` too."""

from __future__ import annotations

import httpx2
import openai
import pytest

from aumai_chaos.faults import RateLimitFault
from aumai_chaos.testing import ProviderServer
from aumai_chaos.transport import ChaosTransport


@pytest.mark.parametrize(("glob", "limited"), [("openai.*", True), ("anthropic.*", False)])
def test_an_own_fault_reaches_the_routes_its_glob_matches(
    server: ProviderServer, glob: str, limited: bool
) -> None:
    fault = RateLimitFault(retry_after_s=0.0, affected_components=(glob,))
    transport = ChaosTransport(faults=[fault], seed=1)
    with openai.OpenAI(
        base_url=server.openai_base_url,
        api_key="t",
        max_retries=0,
        http_client=httpx2.Client(transport=transport),
    ) as client:
        create = client.chat.completions.create
        if limited:
            with pytest.raises(openai.RateLimitError):
                create(model="m", messages=[{"role": "user", "content": "hi"}])
        else:
            reply = create(model="m", messages=[{"role": "user", "content": "hi"}])
            assert reply.choices[0].message.content == "You said: hi"
