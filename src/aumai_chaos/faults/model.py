"""The fault model: what can go wrong, and how often.

``FaultConfig`` is validated once, when it is built; the hot path never reads it again but works
from the plain precomputed :class:`~aumai_chaos._plan.FaultPlan` made from it.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

__all__ = ["MAX_DURATION_MS", "ComponentName", "FaultConfig", "FaultType"]

#: The longest delay a fault may inject: one hour. Longer values are refused as typos.
MAX_DURATION_MS = 3_600_000

ComponentName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)
]


class FaultType(StrEnum):
    """The kinds of fault. ``FaultType("latency")`` and the plain string are interchangeable."""

    latency = "latency"
    error = "error"
    timeout = "timeout"
    resource_exhaustion = "resource_exhaustion"

    @property
    def raises(self) -> bool:
        """Whether a fault of this type ends the call with an exception."""
        return self is not FaultType.latency

    @property
    def delays(self) -> bool:
        """Whether a fault of this type waits before it acts."""
        return self in (FaultType.latency, FaultType.timeout)


class FaultConfig(BaseModel):
    """One fault: its type, how likely it fires on a call, and its parameters.

    - ``latency``: wait ``duration_ms``, then run the call (``duration_ms`` is required).
    - ``error``: raise :class:`~aumai_chaos.ChaosError` with ``error_code`` (default 500) and
      ``error_message``.
    - ``timeout``: wait ``duration_ms`` (0 when unset), then raise
      :class:`~aumai_chaos.ChaosTimeoutError`.
    - ``resource_exhaustion``: raise :class:`~aumai_chaos.ResourceExhaustedError`.

    ``affected_components`` names the components an experiment applies the fault to; empty means
    the experiment's ``target_components`` (or every component, when those are empty too).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False)

    fault_type: FaultType
    probability: Annotated[float, Field(ge=0.0, le=1.0, strict=True, allow_inf_nan=False)] = 1.0
    duration_ms: Annotated[int, Field(ge=0, le=MAX_DURATION_MS, strict=True)] | None = None
    error_code: Annotated[int, Field(ge=0, le=65535, strict=True)] | None = None
    error_message: Annotated[str, StringConstraints(max_length=2000)] | None = None
    affected_components: tuple[ComponentName, ...] = ()

    @model_validator(mode="after")
    def _check_type_parameters(self) -> FaultConfig:
        if self.fault_type is FaultType.latency and self.duration_ms is None:
            raise ValueError("duration_ms is required for a latency fault")
        return self

    @property
    def delay_seconds(self) -> float:
        """The wait this fault injects when it fires, in seconds (0 for raising-only faults)."""
        if not self.fault_type.delays or self.duration_ms is None:
            return 0.0
        return self.duration_ms / 1000.0
