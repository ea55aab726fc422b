"""The fault model: what can go wrong, and how often.

Validated once, when built; the hot path works from the plain precomputed plans that
``aumai_chaos._engine.plan`` makes from it. May import only ``aumai_chaos.errors`` and pydantic.
"""

from aumai_chaos.faults.model import MAX_DURATION_MS, ComponentName, FaultConfig, FaultType

__all__ = ["MAX_DURATION_MS", "ComponentName", "FaultConfig", "FaultType"]
