"""The agent of the Chaos Toolkit example: each iteration asks the tool service, retrying a
failed call twice. ``aumai-chaos run`` drives :func:`ask` as the workload of agent.yaml, whose
``scope: baggage`` names the experiment in the baggage of every request it makes; the tool
service armed that experiment, so these requests (and no others) get its faults."""

from __future__ import annotations

import os

import httpx

import aumai_chaos

aumai_chaos.instrument()  # our clients carry the experiment's baggage entry

_ATTEMPTS = 3


@aumai_chaos.chaos_target("agent.tool_call")
def call_tool(client: httpx.Client, query: str) -> str:
    response = client.post(os.environ["TOOL_URL"] + "/tool", params={"q": query})
    response.raise_for_status()
    return str(response.json()["answer"])


def ask() -> str:
    with httpx.Client(timeout=10) as client:
        for attempt in range(_ATTEMPTS):
            try:
                return call_tool(client, "weather")
            except httpx.HTTPStatusError:
                if attempt == _ATTEMPTS - 1:
                    raise
    raise AssertionError("unreachable")
