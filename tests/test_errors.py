"""The exception tree of aumai_chaos.errors."""

from __future__ import annotations

import pickle

import pytest

from aumai_chaos import (
    AumaiChaosError,
    ChaosError,
    ChaosTimeoutError,
    ConfigError,
    ExperimentNotFoundError,
    ExperimentStateError,
    FaultConfig,
    FaultInjector,
    FaultType,
    InjectedFaultError,
    ResourceExhaustedError,
    WorkloadError,
)

INJECTED = [ChaosError, ChaosTimeoutError, ResourceExhaustedError]


def test_tree() -> None:
    for cls in INJECTED:
        assert issubclass(cls, InjectedFaultError)
        assert not issubclass(cls, AumaiChaosError)
    assert issubclass(ChaosTimeoutError, TimeoutError)
    assert not issubclass(ChaosTimeoutError, ChaosError)
    assert not issubclass(ResourceExhaustedError, ChaosError)
    assert not issubclass(ChaosError, TimeoutError)
    assert not issubclass(InjectedFaultError, AumaiChaosError)
    for cls in (ConfigError, ExperimentNotFoundError, ExperimentStateError, WorkloadError):
        assert issubclass(cls, AumaiChaosError)
        assert not issubclass(cls, InjectedFaultError)
    assert issubclass(ConfigError, ValueError)
    assert issubclass(ExperimentNotFoundError, KeyError)


@pytest.mark.parametrize(
    ("fault_type", "exc_type"),
    [
        (FaultType.error, ChaosError),
        (FaultType.timeout, ChaosTimeoutError),
        (FaultType.resource_exhaustion, ResourceExhaustedError),
    ],
)
def test_injected_exception_carries_its_fault(
    fault_type: FaultType, exc_type: type[InjectedFaultError]
) -> None:
    fault = FaultConfig(fault_type=fault_type, error_code=418, error_message="teapot")
    with pytest.raises(exc_type) as info:
        FaultInjector().inject(fault)
    assert type(info.value) is exc_type
    assert info.value.fault is fault


def test_chaos_error_fields() -> None:
    exc = ChaosError(503, "Service degraded")
    assert (exc.error_code, exc.error_message) == (503, "Service degraded")
    assert str(exc) == "[503] Service degraded"
    assert exc.fault is None
    default = ChaosError()
    assert (default.error_code, default.error_message) == (500, "Injected error")


def test_injected_error_defaults_from_fault() -> None:
    fault = FaultConfig(fault_type=FaultType.error)
    with pytest.raises(ChaosError) as info:
        FaultInjector().inject(fault)
    assert info.value.error_code == 500


def test_guide_pattern_2_branches_are_reachable() -> None:
    """``except ChaosError`` first must not swallow timeouts or exhaustion (guide, Pattern 2)."""
    for exc in (ChaosTimeoutError("t"), ResourceExhaustedError("r")):
        branch = None
        try:
            raise exc
        except ChaosError:  # pragma: no cover - the point is that this branch is not taken
            branch = "ChaosError"
        except (ChaosTimeoutError, ResourceExhaustedError):
            branch = "timeout or exhaustion"
        assert branch == "timeout or exhaustion"


def test_faq_timeout_error() -> None:
    """The guide's FAQ: ``except TimeoutError`` catches ChaosTimeoutError, not the converse."""
    with pytest.raises(TimeoutError):
        raise ChaosTimeoutError("simulated")
    with pytest.raises(TimeoutError) as info:  # noqa: PT012 - asserting that it is NOT caught
        try:
            raise TimeoutError("real")
        except ChaosTimeoutError:  # pragma: no cover
            pytest.fail("a real TimeoutError was caught as ChaosTimeoutError")
    assert type(info.value) is TimeoutError


def test_any_injected_fault_caught_at_once() -> None:
    injector = FaultInjector()
    for fault_type in ("error", "timeout", "resource_exhaustion"):
        with pytest.raises(InjectedFaultError):
            injector.inject(FaultConfig(fault_type=fault_type))


@pytest.mark.parametrize(
    "exc",
    [
        ChaosError(429, "Rate limited", fault=FaultConfig(fault_type="error", error_code=429)),
        ChaosTimeoutError("late", fault=FaultConfig(fault_type="timeout", duration_ms=5)),
        ResourceExhaustedError("full", fault=FaultConfig(fault_type="resource_exhaustion")),
        ChaosError(),
        ChaosTimeoutError("no fault"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_pickle_round_trip(exc: InjectedFaultError) -> None:
    copy = pickle.loads(pickle.dumps(exc))
    assert type(copy) is type(exc)
    assert copy.args == exc.args
    assert str(copy) == str(exc)
    assert copy.fault == exc.fault
    if isinstance(exc, ChaosError):
        assert (copy.error_code, copy.error_message) == (exc.error_code, exc.error_message)


def test_config_error_message_format() -> None:
    full = ConfigError(
        "must be at most 1", source="exp.yaml", field="faults[0].probability", line=7, column=18
    )
    assert str(full) == "exp.yaml:7:18: faults[0].probability: must be at most 1"
    assert (full.problem, full.source, full.field, full.line, full.column) == (
        "must be at most 1",
        "exp.yaml",
        "faults[0].probability",
        7,
        18,
    )
    assert str(ConfigError("bad", source="exp.json", field="name")) == "exp.json: name: bad"
    assert str(ConfigError("bad", source="exp.yaml", line=3)) == "exp.yaml:3: bad"
    assert str(ConfigError("bad", field="faults")) == "faults: bad"
    assert str(ConfigError("bad")) == "bad"
    with pytest.raises(ValueError, match=r"^x\.yaml: f: bad$"):
        raise ConfigError("bad", source="x.yaml", field="f")


def test_experiment_not_found_message() -> None:
    exc = ExperimentNotFoundError("exp-1")
    assert exc.experiment_id == "exp-1"
    assert "exp-1" in str(exc)
    assert "schedule" in str(exc)
    with pytest.raises(KeyError):
        raise exc
