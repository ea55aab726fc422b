"""A workload for ``aumai-chaos run --workload tests.transport.workload:ask``: an agent step on
the real ``openai`` client, with no chaos in its code; ``instrument()`` is the only line added.

The server's base URL comes from ``AUMAI_TEST_OPENAI_BASE_URL`` (a ``ProviderServer`` the test
started).
"""

from __future__ import annotations

import os

import openai

from aumai_chaos.transport import instrument

instrument()

BASE_URL_ENV = "AUMAI_TEST_OPENAI_BASE_URL"
_client = openai.OpenAI(base_url=os.environ[BASE_URL_ENV], api_key="test", max_retries=1)


def ask() -> str:
    reply = _client.chat.completions.create(
        model="gpt-test", messages=[{"role": "user", "content": "status?"}]
    )
    return reply.choices[0].message.content or ""
