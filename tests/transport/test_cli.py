"""Zero-code: ``aumai-chaos run --workload`` drives the real ``openai`` client, and an experiment
file targets the route ``openai.chat.completions`` like any other component."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from aumai_chaos.testing import ProviderServer
from tests.cli.support import assert_one_error_line, cli_env, run_cli

BASE_URL_ENV = "AUMAI_TEST_OPENAI_BASE_URL"  # read by tests/transport/workload.py

EXPERIMENT = """\
experiment_id: transport-cli
name: Rate limits on the chat route
duration_seconds: 1.5
seed: 7
target_components: [openai.chat.completions]
faults:
  - fault_type: rate_limit
    probability: 0.5
    retry_after_s: 0.01
"""


def test_the_summary_counts_exactly_the_requests_the_server_did_not_see(
    server: ProviderServer, tmp_path: Path
) -> None:
    path = tmp_path / "experiment.yaml"
    path.write_text(EXPERIMENT, encoding="utf-8")
    env = cli_env(**{BASE_URL_ENV: server.openai_base_url})
    result = run_cli(
        "run",
        "-e",
        str(path),
        "--workload",
        "tests.transport.workload:ask",
        "--json-output",
        env=env,
    )
    assert result.returncode in (0, 1), result.stderr
    summary = json.loads(result.stdout)["summary"]
    route = summary["components"]["openai.chat.completions"]
    fired = summary["total_faults_fired"]
    assert fired > 0
    assert summary["faults_by_type"] == {"rate_limit": fired}
    # every request reached the transport; the faulted ones never reached the server
    assert route["calls"] - fired == server.request_count("/v1/chat/completions")
    assert route["error_types"] == {"429": fired}
    assert summary["workload"]["iterations"] > 0


def test_an_unknown_provider_route_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "typo.yaml"
    path.write_text(
        textwrap.dedent(EXPERIMENT).replace("[openai.chat.completions]", "[openai.chat]"),
        encoding="utf-8",
    )
    result = run_cli("validate", str(path))
    assert_one_error_line(result, "typo.yaml", "unknown provider route 'openai.chat'")
