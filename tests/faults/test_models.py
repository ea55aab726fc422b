"""FaultType and FaultConfig: defaults, bounds, strictness, immutability."""

from __future__ import annotations

import math
from typing import Any

import pytest
from pydantic import ValidationError

from aumai_chaos import FaultConfig, FaultType
from aumai_chaos.faults import MAX_DURATION_MS


def test_fault_type_values_and_strings() -> None:
    assert [t.value for t in FaultType][:4] == [
        "latency",
        "error",
        "timeout",
        "resource_exhaustion",
    ]
    assert FaultType("latency") is FaultType.latency
    assert FaultType.error == "error"
    assert str(FaultType.timeout) == "timeout"


@pytest.mark.parametrize(
    ("fault_type", "raises", "delays"),
    [
        (FaultType.latency, False, True),
        (FaultType.error, True, False),
        (FaultType.timeout, True, True),
        (FaultType.resource_exhaustion, True, False),
    ],
)
def test_fault_type_behaviour_flags(fault_type: FaultType, raises: bool, delays: bool) -> None:
    assert fault_type.raises is raises
    assert fault_type.delays is delays


def test_defaults() -> None:
    fault = FaultConfig(fault_type=FaultType.error)
    assert fault.probability == 1.0  # the guide's FAQ: "The default is 1.0 (always fire)"
    assert fault.duration_ms is None
    assert fault.error_code is None
    assert fault.error_message is None
    assert fault.affected_components == ()


@pytest.mark.parametrize("name", ["latency", "error", "timeout", "resource_exhaustion"])
def test_fault_type_accepts_plain_strings(name: str) -> None:
    fault = FaultConfig(fault_type=name, duration_ms=10)
    assert fault.fault_type is FaultType(name)


@pytest.mark.parametrize("bad", ["Latency", "LATENCY", "slow", "", 1, None])
def test_unknown_fault_type_rejected(bad: Any) -> None:
    with pytest.raises(ValidationError, match="fault_type"):
        FaultConfig(fault_type=bad, duration_ms=10)


@pytest.mark.parametrize("probability", [0, 0.0, 0.25, 1, 1.0])
def test_probability_in_bounds(probability: float) -> None:
    fault = FaultConfig(fault_type="error", probability=probability)
    assert fault.probability == probability
    assert isinstance(fault.probability, float)


@pytest.mark.parametrize(
    "probability",
    [-0.0001, 1.0001, 2, -1, math.nan, math.inf, -math.inf, True, False, "0.5", None],
)
def test_probability_rejected(probability: Any) -> None:
    with pytest.raises(ValidationError, match="probability"):
        FaultConfig(fault_type="error", probability=probability)


@pytest.mark.parametrize("duration_ms", [0, 1, 500, MAX_DURATION_MS])
def test_duration_in_bounds(duration_ms: int) -> None:
    fault = FaultConfig(fault_type="latency", duration_ms=duration_ms)
    assert fault.duration_ms == duration_ms
    assert fault.delay_seconds == duration_ms / 1000


@pytest.mark.parametrize("duration_ms", [-1, MAX_DURATION_MS + 1, 1.5, 100.0, True, "100"])
def test_duration_rejected(duration_ms: Any) -> None:
    with pytest.raises(ValidationError, match="duration_ms"):
        FaultConfig(fault_type="latency", duration_ms=duration_ms)


def test_latency_needs_duration() -> None:
    with pytest.raises(ValidationError, match="duration_ms is required for a latency fault"):
        FaultConfig(fault_type=FaultType.latency)


@pytest.mark.parametrize("fault_type", ["error", "timeout", "resource_exhaustion"])
def test_other_types_need_no_duration(fault_type: str) -> None:
    assert FaultConfig(fault_type=fault_type).duration_ms is None


@pytest.mark.parametrize(
    ("fault_type", "duration_ms", "delay"),
    [
        ("latency", 250, 0.25),
        ("timeout", 250, 0.25),
        ("timeout", None, 0.0),
        ("error", 250, 0.0),
        ("resource_exhaustion", 250, 0.0),
    ],
)
def test_delay_seconds(fault_type: str, duration_ms: int | None, delay: float) -> None:
    fault = FaultConfig(fault_type=fault_type, duration_ms=duration_ms)
    assert fault.delay_seconds == delay


@pytest.mark.parametrize("error_code", [-1, 65536, True, "503", 503.0])
def test_error_code_rejected(error_code: Any) -> None:
    with pytest.raises(ValidationError, match="error_code"):
        FaultConfig(fault_type="error", error_code=error_code)


def test_error_fields() -> None:
    fault = FaultConfig(fault_type="error", error_code=429, error_message="Rate limited")
    assert (fault.error_code, fault.error_message) == (429, "Rate limited")


def test_error_message_length_bounded() -> None:
    with pytest.raises(ValidationError, match="error_message"):
        FaultConfig(fault_type="error", error_message="x" * 2001)


@pytest.mark.parametrize(
    "typo", ["probabilty", "duration", "error", "components", "affected_component"]
)
def test_unknown_fields_rejected(typo: str) -> None:
    with pytest.raises(ValidationError, match=typo) as info:
        FaultConfig(fault_type="error", **{typo: 0.5})
    assert info.value.errors()[0]["type"] == "extra_forbidden"


def test_unknown_fields_rejected_by_model_validate() -> None:
    with pytest.raises(ValidationError, match="probabilty"):
        FaultConfig.model_validate({"fault_type": "error", "probabilty": 0.1})


def test_affected_components() -> None:
    fault = FaultConfig(fault_type="error", affected_components=["llm", "  vector_db  "])
    assert fault.affected_components == ("llm", "vector_db")


@pytest.mark.parametrize("bad", [[""], ["   "], ["x" * 201], "llm", [1]])
def test_affected_components_rejected(bad: Any) -> None:
    with pytest.raises(ValidationError, match="affected_components"):
        FaultConfig(fault_type="error", affected_components=bad)


def test_frozen_and_hashable() -> None:
    fault = FaultConfig(fault_type="error", probability=0.5)
    with pytest.raises(ValidationError, match="frozen"):
        fault.probability = 0.9  # type: ignore[misc]
    assert fault == FaultConfig(fault_type="error", probability=0.5)
    assert hash(fault) == hash(FaultConfig(fault_type="error", probability=0.5))
    assert len({fault, FaultConfig(fault_type="error", probability=0.5)}) == 1


def test_round_trips_through_json() -> None:
    fault = FaultConfig(
        fault_type="timeout",
        probability=0.05,
        duration_ms=30,
        error_message="slow upstream",
        affected_components=["llm"],
    )
    data = fault.model_dump(mode="json")
    assert data["fault_type"] == "timeout"
    assert FaultConfig.model_validate(data) == fault
    assert FaultConfig.model_validate_json(fault.model_dump_json()) == fault
