"""Bad input to ``aumai-chaos proxy``: one line naming the option or the file and field, exit 2,
before anything listens."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from aumai_chaos.errors import ConfigError
from aumai_chaos.experiments.models import ChaosExperiment
from aumai_chaos.faults import FaultConfig
from aumai_chaos.proxy import check_for_proxy, parse_upstreams
from tests.cli.support import assert_one_error_line, run_cli
from tests.proxy.support import NO_FAULT, write_experiment

UPSTREAM = "http://127.0.0.1:9"


def _proxy(*args: str) -> object:
    return run_cli("proxy", "--duration", "0.5", *args, timeout=60)


@pytest.mark.parametrize(
    ("spec", "needle"),
    [
        ("ftp://example.com", "must start with http:// or https://"),
        ("http://", "names no host"),
        ("https://user:pw@api.example.com/v1", "must not carry a user"),
        ("http://example.com/v1?x=1", "no query"),
        ("http://example.com:99999", "is not a URL"),
        ("bad name=http://example.com", "must be letters"),
        ("example.com", "must start with http"),
    ],
)
def test_a_bad_upstream_is_one_line(tmp_path: Path, spec: str, needle: str) -> None:
    result = _proxy("-e", str(write_experiment(tmp_path, NO_FAULT)), "--upstream", spec)
    assert_one_error_line(result, "--upstream", needle)  # type: ignore[arg-type]


def test_two_unnamed_upstreams_are_refused(tmp_path: Path) -> None:
    exp = str(write_experiment(tmp_path, NO_FAULT))
    result = _proxy("-e", exp, "--upstream", UPSTREAM, "--upstream", "http://127.0.0.1:8")
    assert_one_error_line(result, "--upstream", "only one may be unnamed")  # type: ignore[arg-type]


def test_a_port_in_use_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        result = _proxy(
            "-e", str(write_experiment(tmp_path, NO_FAULT)), "-u", UPSTREAM, "--port", str(port)
        )
    assert_one_error_line(result, "--port", f"port {port}", "in use")  # type: ignore[arg-type]


def test_a_transform_fault_in_a_file_is_one_line(tmp_path: Path) -> None:
    text = NO_FAULT.replace("faults: []", "faults:\n  - fault_type: transform\n")
    path = write_experiment(tmp_path, text)
    result = _proxy("-e", str(path), "-u", UPSTREAM)
    assert_one_error_line(result, str(path), "faults[0].transform")  # type: ignore[arg-type]


def test_a_decorator_only_fault_cannot_act_on_a_proxied_request() -> None:
    exp = ChaosExperiment(
        experiment_id="x",
        name="x",
        duration_seconds=1,
        faults=[FaultConfig(fault_type="transform", transform=str.upper)],
    )
    with pytest.raises(ConfigError) as caught:
        check_for_proxy(exp, "exp.yaml", parse_upstreams([UPSTREAM]))
    assert str(caught.value) == (
        "exp.yaml: faults[0]: transform cannot act on a proxied request: transform rewrites a "
        "Python return value; on a transport use an output fault"
    )


def test_a_fault_on_a_component_the_proxy_never_sees(tmp_path: Path) -> None:
    text = NO_FAULT.replace(
        "faults: []",
        "faults:\n  - fault_type: latency\n    duration_ms: 5\n"
        "    affected_components: [vector_db]\n",
    )
    path = write_experiment(tmp_path, text)
    result = _proxy("-e", str(path), "-u", UPSTREAM)
    assert_one_error_line(  # type: ignore[arg-type]
        result, str(path), "faults[0].affected_components", "never sees a component 'vector_db'"
    )


def test_the_upstream_host_and_the_provider_routes_are_components() -> None:
    ups = parse_upstreams(["tools=http://tools.internal:8000/mcp", "https://api.openai.com/v1"])
    for name in ("tools.internal", "api.openai.com", "openai.chat.completions"):
        exp = ChaosExperiment(
            experiment_id="x",
            name="x",
            duration_seconds=1,
            faults=[FaultConfig(fault_type="latency", duration_ms=1, affected_components=[name])],
            steady_state=[{"component": name, "max_error_rate": 0.5}],
        )
        assert check_for_proxy(exp, "e.yaml", ups) is exp


def test_every_problem_is_a_line_of_its_own() -> None:
    exp = ChaosExperiment(
        experiment_id="x",
        name="x",
        duration_seconds=1,
        faults=[
            FaultConfig(fault_type="error", error_code=42, affected_components=["db"]),
        ],
        steady_state=[{"component": "workload", "max_error_rate": 0.5}],
    )
    with pytest.raises(ConfigError) as caught:
        check_for_proxy(exp, "e.yaml", parse_upstreams([UPSTREAM]))
    lines = str(caught.value).splitlines()
    assert lines == [
        "e.yaml: faults[0].error_code: 42 is not an HTTP status (100-599)",
        "e.yaml: faults[0].affected_components: the proxy never sees a component 'db' (it sees "
        "openai.chat.completions, openai.responses, openai.embeddings, anthropic.messages, "
        "127.0.0.1)",
        "e.yaml: steady_state[0].component: the proxy never sees a component 'workload' (it sees "
        "openai.chat.completions, openai.responses, openai.embeddings, anthropic.messages, "
        "127.0.0.1)",
    ]


def test_a_workload_is_left_out_with_a_warning() -> None:
    exp = ChaosExperiment(
        experiment_id="x", name="x", duration_seconds=1, workload="examples.agent:run_once"
    )
    warned: list[str] = []
    checked = check_for_proxy(exp, "e.yaml", parse_upstreams([UPSTREAM]), warn=warned.append)
    assert checked.workload is None
    assert warned == ["e.yaml: workload: ignored by the proxy (its clients are the workload)"]


@pytest.mark.parametrize("fault", ["mcp_tool_error", "latency\n    duration_ms: 5"])
def test_an_mcp_fault_narrowed_to_a_server_name_is_refused(tmp_path: Path, fault: str) -> None:
    text = NO_FAULT.replace(
        "faults: []",
        f"faults:\n  - fault_type: {fault}\n    server: docs\n"
        "    affected_components: [mcp.tool.search]\n",
    )
    path = write_experiment(tmp_path, text)
    result = _proxy("-e", str(path), "-u", UPSTREAM)
    assert_one_error_line(  # type: ignore[arg-type]
        result, str(path), "faults[0].server", "the proxy does not read the servers' names"
    )


def test_mcp_components_and_globs_are_seen_with_the_mcp_classifier() -> None:
    from aumai_chaos.proxy import McpClassifier, visible

    ups = parse_upstreams([UPSTREAM])
    mcp = [McpClassifier()]
    for name in ("mcp.tool.search", "mcp.tool.*", "mcp.tools.list", "openai.*"):
        assert visible(name, ups, mcp), name
    assert not visible("mcp.tool.search", ups, [])
    assert not visible("vector_*", ups, mcp)
