"""The real ``openai`` package for Node (pinned by examples/node-agent's package.json and lock
file, installed by ``make node-deps``) against the proxy, in front of ``ProviderServer``: the
proxy and the agent are separate processes, as in production.

Each fault is compared with what the Node SDK does on its own terms: its retries, its
``RateLimitError``, and, for a cut stream, the error a real server's reset gives it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aumai_chaos.testing import CutStream, ProviderServer, TextReply, ToolCallReply
from tests.helpers import REPO
from tests.proxy.support import proxy, write_experiment

pytestmark = pytest.mark.integration

NODE_MODULES = Path(
    os.environ.get("AUMAI_CHAOS_NODE_MODULES", REPO / ".cache" / "node-agent" / "node_modules")
)
PROBE = Path(__file__).parent / "node" / "probe.mjs"
AGENT = REPO / "examples" / "node-agent" / "agent.mjs"

ONE_FAULT = """\
experiment_id: node-proxy
name: Node behind the proxy
duration_seconds: {duration}
seed: 7
faults:
  - {fault}
    affected_components: [openai.chat.completions]
"""


@pytest.fixture(scope="module")
def node_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the probe, the example agent and the pinned node_modules beside them."""
    node = shutil.which("node")
    assert node is not None, "node is not installed (Node 20 or newer)"
    assert (NODE_MODULES / "openai" / "package.json").is_file(), (
        f"the Node openai package is not installed in {NODE_MODULES}: run `make node-deps`"
    )
    folder = tmp_path_factory.mktemp("node")
    shutil.copy(PROBE, folder / PROBE.name)
    shutil.copy(AGENT, folder / AGENT.name)
    (folder / "package.json").write_text('{"type": "module"}', encoding="utf-8")
    (folder / "node_modules").symlink_to(NODE_MODULES, target_is_directory=True)
    return folder


@pytest.fixture
def server() -> Iterator[ProviderServer]:
    with ProviderServer() as s:
        yield s


def node(folder: Path, scenario: str, base_url: str, max_retries: int = 0) -> dict[str, Any]:
    done = subprocess.run(
        ["node", "probe.mjs", scenario, base_url, str(max_retries)],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _experiment(tmp_path: Path, fault: str) -> Path:
    return write_experiment(tmp_path, ONE_FAULT.replace("{fault}", fault))


def test_two_429s_are_retried_into_a_success(
    node_folder: Path, server: ProviderServer, tmp_path: Path
) -> None:
    exp = _experiment(tmp_path, "fault_type: rate_limit\n    times: 2\n    retry_after_s: 0.05")
    with proxy(exp, server.url) as run:
        out = node(node_folder, "chat", run.url + "/v1", max_retries=2)
    assert out["ok"] is True, out
    assert out["content"] == "You said: one two three four five six"
    assert server.request_count() == 1  # the two 429s never reached the upstream


def test_three_429s_are_the_sdks_rate_limit_error(
    node_folder: Path, server: ProviderServer, tmp_path: Path
) -> None:
    exp = _experiment(tmp_path, "fault_type: rate_limit\n    times: 3\n    retry_after_s: 0.05")
    with proxy(exp, server.url) as run:
        out = node(node_folder, "chat", run.url + "/v1", max_retries=2)
    assert out["ok"] is False
    assert out["error"] == "RateLimitError"
    assert out["isRateLimit"] is True
    assert out["status"] == 429
    assert server.request_count() == 0


def test_a_cut_stream_is_the_error_a_real_reset_gives(
    node_folder: Path, server: ProviderServer, tmp_path: Path
) -> None:
    text = "one two three four five six"
    # The real thing first: the upstream itself resets the connection after two events.
    server.script([TextReply(text, disrupt=CutStream(after_events=2))])
    real = node(node_folder, "stream", server.openai_base_url)
    exp = _experiment(tmp_path, "fault_type: stream_cut\n    after_chunks: 2\n    times: 1")
    with proxy(exp, server.url) as run:
        injected = node(node_folder, "stream", run.url + "/v1")
    assert real["ok"] is False, real
    for key in ("error", "message", "cause", "chunks", "isConnection"):
        assert injected[key] == real[key], (key, injected, real)
    assert injected["cause"]["code"] == "ECONNRESET"
    assert injected["chunks"] == 2


@pytest.mark.parametrize("scenario", ["tool", "tool-stream"])
def test_a_malformed_tool_call_is_arguments_json_parse_rejects(
    node_folder: Path, server: ProviderServer, tmp_path: Path, scenario: str
) -> None:
    server.script([ToolCallReply("search", {"query": "chaos"})])
    exp = _experiment(tmp_path, "fault_type: malformed_tool_call\n    times: 1")
    with proxy(exp, server.url) as run:
        out = node(node_folder, scenario, run.url + "/v1")
    assert out["ok"] is True, out
    assert out["parses"] is False, out
    assert out["arguments"].startswith('{"query"')  # the provider's JSON, cut short


def test_without_a_fault_the_example_agent_finishes(
    node_folder: Path, server: ProviderServer, tmp_path: Path
) -> None:
    exp = write_experiment(tmp_path, "experiment_id: n\nname: n\nduration_seconds: {duration}\n")
    with proxy(exp, server.url) as run:
        env = {**os.environ, "OPENAI_BASE_URL": run.url + "/v1", "OPENAI_API_KEY": "test"}
        done = subprocess.run(
            ["node", "agent.mjs", "What is chaos engineering?"],
            cwd=node_folder,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 0, done.stderr
    assert "answer:" in done.stdout
    assert server.request_count() >= 2  # a tool call, then the answer
