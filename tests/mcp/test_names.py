"""MCP components: how a request is named, which names and faults an experiment refuses at
load (one line, with the reason), and the pure helpers a proxy reuses."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

import aumai_chaos
from aumai_chaos import ChaosExperiment, FaultConfig
from aumai_chaos.mcp import component_for, jsonrpc_response, render_fault


@pytest.mark.parametrize(
    ("method", "params", "component"),
    [
        ("tools/call", {"name": "search_docs", "arguments": {}}, "mcp.tool.search_docs"),
        ("tools/list", None, "mcp.tools.list"),
        ("resources/read", {"uri": "docs://x"}, "mcp.resources.read"),
        ("prompts/get", {"name": "p"}, "mcp.prompts.get"),
        ("resources/templates/list", {}, "mcp.resources.templates.list"),
        ("initialize", {}, "mcp.initialize"),
    ],
)
def test_a_request_is_named_by_its_method_and_tool(
    method: str, params: dict[str, object] | None, component: str
) -> None:
    assert component_for(method, params) == component


def _experiment(fault: dict[str, object]) -> ChaosExperiment:
    return ChaosExperiment(experiment_id="x", name="x", duration_seconds=1, faults=[fault])


@pytest.mark.parametrize(
    ("fault", "problem"),
    [
        (
            {"fault_type": "mcp_tool_error", "affected_components": ["search"]},
            "mcp_tool_error acts on mcp.\\* components only, not on search",
        ),
        (
            {"fault_type": "jsonrpc_error", "affected_components": ["openai.chat.completions"]},
            "jsonrpc_error acts on mcp.\\* components only, not on openai.chat.completions",
        ),
        (
            {"fault_type": "rate_limit", "affected_components": ["mcp.tool.search_docs"]},
            "rate_limit cannot act on mcp.tool.search_docs, an MCP component",
        ),
        (
            {"fault_type": "error", "affected_components": ["mcp.*"]},
            "error cannot act on mcp.\\*, an MCP component",
        ),
        (
            {"fault_type": "mcp_timeout", "affected_components": ["mcp.tool."]},
            "'mcp.tool.' names no tool",
        ),
    ],
)
def test_a_fault_where_it_cannot_act_is_refused_at_load(
    fault: dict[str, object], problem: str
) -> None:
    with pytest.raises(ValidationError, match=problem):
        _experiment(fault)


def test_mcp_faults_load_on_mcp_components_and_globs() -> None:
    for fault_type in ("mcp_tool_error", "jsonrpc_error", "mcp_timeout", "mcp_disconnect"):
        _experiment({"fault_type": fault_type, "affected_components": ["mcp.tool.*"]})
    _experiment({"fault_type": "latency", "duration_ms": 5, "affected_components": ["mcp.*"]})
    _experiment({"fault_type": "tool_vanished", "affected_components": ["mcp.tools.list"]})
    _experiment({"fault_type": "mcp_tool_error", "affected_components": ["*"]})


def test_a_proxy_renders_each_fault_as_a_jsonrpc_response() -> None:
    body = {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "search_docs"}}
    error = render_fault(FaultConfig(fault_type="jsonrpc_error", error_code=-32000), body)
    assert error is not None
    assert jsonrpc_response(7, error) == {
        "jsonrpc": "2.0",
        "id": 7,
        "error": {"code": -32000, "message": "Internal error"},
    }
    tool = render_fault(FaultConfig(fault_type="mcp_tool_error"), body)
    assert tool is not None
    assert jsonrpc_response(7, tool) == {
        "jsonrpc": "2.0",
        "id": 7,
        "result": {
            "content": [{"type": "text", "text": "Error executing tool search_docs"}],
            "isError": True,
        },
    }
    silent = render_fault(FaultConfig(fault_type="mcp_timeout"), body)
    assert silent is not None
    assert jsonrpc_response(7, silent) is None
    assert render_fault(FaultConfig(fault_type="latency", duration_ms=5), body) is None


def test_server_is_refused_where_no_mcp_server_answers() -> None:
    bad = {"fault_type": "latency", "duration_ms": 5, "server": "wiki"}
    with pytest.raises(ValueError, match=r"server: applies to mcp\.\* components only"):
        aumai_chaos.experiment(faults=[bad], target_components=["search"])
    with pytest.raises(ValueError, match="no MCP request"):
        aumai_chaos.resilience_test(faults=[aumai_chaos.FaultConfig(**bad)])
    # on an MCP component, or a glob that covers MCP components, it is accepted
    aumai_chaos.experiment(faults=[bad], target_components=["mcp.tool.*"])
    aumai_chaos.experiment(faults=[bad], target_components=["*"])
