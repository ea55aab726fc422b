"""The user's guide's four faults, which act before the call, and ``transform``.

The guide's four keep the fields they always had (``duration_ms``, ``error_code``,
``error_message`` on each), so every experiment file written for 0.1 still loads. On an HTTP
transport they become what a real service would do: ``latency`` delays the request, ``error``
answers with HTTP status ``error_code``, ``timeout`` is a ``read_timeout`` and
``resource_exhaustion`` a 429 with the provider's quota error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, model_validator
from pydantic.json_schema import SkipJsonSchema

from aumai_chaos.faults.base import (
    Action,
    DurationMs,
    FaultConfig,
    FaultType,
    Message,
    OnMcpServer,
    Site,
)

__all__ = [
    "ErrorFault",
    "LatencyFault",
    "ResourceExhaustionFault",
    "TimeoutFault",
    "TransformFault",
]

ErrorCode = Annotated[int, Field(ge=0, le=65535, strict=True)]


class _GuideFault(FaultConfig):
    duration_ms: DurationMs | None = None
    error_code: ErrorCode | None = None
    error_message: Message | None = None

    @property
    def delay_seconds(self) -> float:
        if not self.fault_type.delays or self.duration_ms is None:
            return 0.0
        return self.duration_ms / 1000.0


class LatencyFault(OnMcpServer, _GuideFault):
    """Wait ``duration_ms`` (required), then run the call (on an MCP request: the answer
    arrives ``duration_ms`` later, on the client's own request clock)."""

    sites: ClassVar[frozenset[Site]] = frozenset({Site.call, Site.transport, Site.mcp})
    delays: ClassVar[bool] = True

    fault_type: Literal[FaultType.latency] = FaultType.latency

    @model_validator(mode="after")
    def _needs_duration(self) -> LatencyFault:
        if self.duration_ms is None:
            raise ValueError("duration_ms is required for a latency fault")
        return self


class ErrorFault(_GuideFault):
    """Raise :class:`~aumai_chaos.ChaosError` with ``error_code`` (default 500) and
    ``error_message``; on a transport, answer with HTTP status ``error_code``."""

    raises: ClassVar[bool] = True
    fails: ClassVar[bool] = True
    answers: ClassVar[bool] = True

    fault_type: Literal[FaultType.error] = FaultType.error


class TimeoutFault(_GuideFault):
    """Wait ``duration_ms`` (0 when unset), then raise :class:`~aumai_chaos.ChaosTimeoutError`;
    on a transport, the client library's own read timeout."""

    raises: ClassVar[bool] = True
    fails: ClassVar[bool] = True
    delays: ClassVar[bool] = True
    breaks_connection: ClassVar[bool] = True

    fault_type: Literal[FaultType.timeout] = FaultType.timeout


class ResourceExhaustionFault(_GuideFault):
    """Raise :class:`~aumai_chaos.ResourceExhaustedError`; on a transport, a 429 with the
    provider's quota error."""

    raises: ClassVar[bool] = True
    fails: ClassVar[bool] = True
    answers: ClassVar[bool] = True

    fault_type: Literal[FaultType.resource_exhaustion] = FaultType.resource_exhaustion


class TransformFault(FaultConfig):
    """Replace a decorated call's result with ``transform(result)``: your own corruption.

    Python only: a callable has no YAML or JSON form, so this fault is built in code and is
    left out when an experiment is saved.
    """

    sites: ClassVar[frozenset[Site]] = frozenset({Site.call})
    site_reason: ClassVar[str] = (
        "transform rewrites a Python return value; on a transport use an output fault"
    )

    action: ClassVar[Action] = Action.after

    fault_type: Literal[FaultType.transform] = FaultType.transform
    transform: Annotated[SkipJsonSchema[Callable[[Any], Any]], Field(exclude=True)]

    def apply_to_result(self, result: Any) -> tuple[bool, Any]:
        # The user's callable: what it raises propagates, as their own code's errors do.
        return (True, self.transform(result))
