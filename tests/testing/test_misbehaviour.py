"""Ground truth for stream faults: ``ProviderServer``'s disruptions break a real SDK's stream
exactly as a plain socket server (tests/plain_server.py, written without aumai-chaos) does when it
resets, closes or goes silent after the same events.

Each test compares the two observations (tests/sdk_observe.py): the exception, its
``__cause__`` chain down to the ``httpx2`` error, and the events the SDK yielded first. What
each SDK raises for them, and whether it wraps the ``httpx2`` error, depends on its version:
docs/testing-server.md has the table for the installed versions (``make docs-sdk-table``).
A stream broken mid-body is never retried.
"""

from __future__ import annotations

from typing import Any

import anthropic
import openai
import pytest

from aumai_chaos.testing import CutStream, ProviderServer, StallStream, TextReply
from tests.plain_server import Break, PlainServer, Plan
from tests.sdk_observe import SDK, TEXT, USER, Mode, base_url, observe, record_events

# The server's disruption, the plain server's break, and the httpx2 error the client gets.
CASES = [
    pytest.param(CutStream(3, reset=True), "reset", "httpx2.ReadError", id="reset"),
    pytest.param(CutStream(3, reset=False), "close", "httpx2.RemoteProtocolError", id="close"),
    pytest.param(StallStream(3, 30.0), "stall", "httpx2.ReadTimeout", id="stall"),
]
SDKS = [pytest.param("openai", id="openai"), pytest.param("anthropic", id="anthropic")]
MODES = [pytest.param("sync", id="sync"), pytest.param("async", id="async")]
# Events before the break as the SDK yields them: Anthropic's ping is sent but not yielded.
YIELDED = {"openai": 3, "anthropic": 2}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("sdk", SDKS)
@pytest.mark.parametrize(("disrupt", "how", "http_error"), CASES)
def test_a_disrupted_stream_fails_like_a_plain_socket_server(
    server: ProviderServer, sdk: SDK, mode: Mode, disrupt: Any, how: Break, http_error: str
) -> None:
    server.script([TextReply(TEXT)])
    events = record_events(sdk, server)
    server.script([TextReply(TEXT, disrupt=disrupt)])
    ours = observe(sdk, mode, base_url(sdk, server), timeout=0.5)
    with PlainServer(Plan(events, 3, how)) as plain:
        url = f"{plain.url}/v1" if sdk == "openai" else plain.url
        witness = observe(sdk, mode, url, timeout=0.5)
        assert plain.requests == 1  # a stream broken mid-body is not retried

    assert ours.visible == witness.visible
    assert ours.received == witness.received
    assert http_error in witness.visible  # the break the plain server made, not another
    assert len(witness.received) == YIELDED[sdk]
    assert server.request_count() == 2  # the recording, then one disrupted request


@pytest.mark.parametrize(
    ("disrupt", "error"),
    [
        pytest.param(CutStream(reset=True), anthropic.APIConnectionError, id="reset"),
        pytest.param(StallStream(seconds=30.0), anthropic.APITimeoutError, id="stall"),
    ],
)
def test_anthropic_not_streamed_wraps(
    server: ProviderServer, disrupt: Any, error: type[Exception]
) -> None:
    server.script([TextReply(TEXT, disrupt=disrupt)])
    with (
        anthropic.Anthropic(
            base_url=server.anthropic_base_url, api_key="t", max_retries=0, timeout=0.5
        ) as client,
        pytest.raises(error),
    ):
        client.messages.create(model="c", max_tokens=5, messages=USER)


def test_the_next_request_after_a_reset_succeeds(server: ProviderServer) -> None:
    server.script([TextReply(TEXT, disrupt=CutStream(1))])
    with openai.OpenAI(base_url=server.openai_base_url, api_key="t", max_retries=0) as client:
        with pytest.raises(openai.APIConnectionError):
            list(client.chat.completions.create(model="m", messages=USER, stream=True))
        again = client.chat.completions.create(model="m", messages=USER)
    assert again.choices[0].message.content == "You said: hello"
