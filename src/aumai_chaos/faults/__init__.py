"""The fault model: what can go wrong, when, and where.

Validated once, when built; the hot path works from the plain precomputed plans that
``aumai_chaos._engine.plan`` makes from it. Each fault type is one class, in the family
module that fits it:

- ``base``: :class:`FaultConfig` (the base: selection and position rules), :class:`FaultType`,
  :class:`Site` (where a fault type can act) and :class:`Action` (when it acts on a call:
  ``before``, ``instead``, ``after``, ``during``; each class declares its own);
- ``call``: the guide's ``latency``, ``error``, ``timeout``, ``resource_exhaustion``, and
  ``transform``;
- ``http``: ``rate_limit``, ``http_error``, ``connect_error``, ``read_timeout``;
- ``stream``: ``stream_stall``, ``stream_cut``, ``slow_stream``, ``truncated_stream``,
  ``malformed_chunk``, ``stream_error_event``;
- ``mcp``: ``mcp_tool_error``, ``jsonrpc_error``, ``mcp_timeout``, ``mcp_disconnect``,
  ``tool_vanished`` (``latency``, ``empty_output`` and ``truncated_output`` act on MCP too);
- ``output``: ``empty_output``, ``truncated_output``, ``malformed_tool_call``,
  ``unknown_tool_call``, ``wrong_tool_arguments``, ``invalid_tool_arguments``, ``refusal``,
  ``context_overflow``.

:data:`AnyFault` is the tagged union that models holding faults use as their field type.
May import only ``pydantic``.
"""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any, Union

from pydantic import Field, TypeAdapter

from aumai_chaos.faults.base import (
    MAX_DURATION_MS,
    Action,
    ComponentName,
    FaultConfig,
    FaultType,
    Site,
    fault_class,
    fault_classes,
    fault_types_that,
)
from aumai_chaos.faults.call import (
    ErrorFault,
    LatencyFault,
    ResourceExhaustionFault,
    TimeoutFault,
    TransformFault,
)
from aumai_chaos.faults.http import (
    ConnectErrorFault,
    HttpErrorFault,
    RateLimitFault,
    ReadTimeoutFault,
)
from aumai_chaos.faults.mcp import (
    JsonRpcErrorFault,
    McpDisconnectFault,
    McpTimeoutFault,
    McpToolErrorFault,
    ToolVanishedFault,
)
from aumai_chaos.faults.output import (
    ContextOverflowFault,
    EmptyOutputFault,
    InvalidToolArgumentsFault,
    MalformedToolCallFault,
    RefusalFault,
    TruncatedOutputFault,
    UnknownToolCallFault,
    WrongToolArgumentsFault,
)
from aumai_chaos.faults.stream import (
    MalformedChunkFault,
    SlowStreamFault,
    StreamCutFault,
    StreamErrorEventFault,
    StreamStallFault,
    TruncatedStreamFault,
)

__all__ = [
    "MAX_DURATION_MS",
    "Action",
    "AnyFault",
    "ComponentName",
    "ConnectErrorFault",
    "ContextOverflowFault",
    "EmptyOutputFault",
    "ErrorFault",
    "FaultConfig",
    "FaultType",
    "HttpErrorFault",
    "InvalidToolArgumentsFault",
    "JsonRpcErrorFault",
    "LatencyFault",
    "MalformedChunkFault",
    "MalformedToolCallFault",
    "McpDisconnectFault",
    "McpTimeoutFault",
    "McpToolErrorFault",
    "RateLimitFault",
    "ReadTimeoutFault",
    "RefusalFault",
    "ResourceExhaustionFault",
    "Site",
    "SlowStreamFault",
    "StreamCutFault",
    "StreamErrorEventFault",
    "StreamStallFault",
    "TimeoutFault",
    "ToolVanishedFault",
    "TransformFault",
    "TruncatedOutputFault",
    "TruncatedStreamFault",
    "UnknownToolCallFault",
    "WrongToolArgumentsFault",
    "fault_adapter",
    "fault_class",
    "fault_classes",
    "fault_types_that",
]

#: Any fault, validated by its ``fault_type`` tag alone.
AnyFault = Annotated[
    Union[  # noqa: UP007 - a tuple of classes, built once
        LatencyFault,
        ErrorFault,
        TimeoutFault,
        ResourceExhaustionFault,
        RateLimitFault,
        HttpErrorFault,
        ConnectErrorFault,
        ReadTimeoutFault,
        StreamStallFault,
        StreamCutFault,
        SlowStreamFault,
        TruncatedStreamFault,
        MalformedChunkFault,
        StreamErrorEventFault,
        EmptyOutputFault,
        TruncatedOutputFault,
        MalformedToolCallFault,
        UnknownToolCallFault,
        WrongToolArgumentsFault,
        InvalidToolArgumentsFault,
        RefusalFault,
        ContextOverflowFault,
        TransformFault,
        McpToolErrorFault,
        JsonRpcErrorFault,
        McpTimeoutFault,
        McpDisconnectFault,
        ToolVanishedFault,
    ],
    Field(discriminator="fault_type"),
]


@cache
def fault_adapter() -> TypeAdapter[Any]:
    """The validator of :data:`AnyFault` (built on first use)."""
    return TypeAdapter(AnyFault)
