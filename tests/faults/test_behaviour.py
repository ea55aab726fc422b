"""One table of fault behaviour: every set of fault types that the acting code reads is what
the fault classes declare, and a new class's declarations flow into those sets."""

from __future__ import annotations

from typing import ClassVar, Literal

import pytest

from aumai_chaos._engine import plan
from aumai_chaos._engine import telemetry as tm
from aumai_chaos.experiments import observer
from aumai_chaos.faults import (
    Action,
    FaultConfig,
    FaultType,
    LatencyFault,
    Site,
    StreamErrorEventFault,
    TruncatedStreamFault,
    base,
    fault_classes,
    fault_types_that,
)
from aumai_chaos.transport import _output, _request_faults, _stream_core

T = FaultType


def test_the_declarations_are_the_behaviour_the_acting_code_had() -> None:
    """The sets as they were written by hand before the classes declared them."""
    raising = {T.error, T.timeout, T.resource_exhaustion, T.stream_cut}
    assert fault_types_that("raises") == raising
    assert fault_types_that("fails") == raising | {
        T.rate_limit,
        T.http_error,
        T.connect_error,
        T.read_timeout,
        T.context_overflow,
        T.stream_error_event,
        T.jsonrpc_error,
        T.mcp_timeout,
        T.mcp_disconnect,
    }
    assert fault_types_that("delays") == {T.latency, T.timeout}
    assert fault_types_that("ends_stream") == {T.truncated_stream, T.stream_error_event}
    assert fault_types_that("answers") == {
        T.rate_limit,
        T.http_error,
        T.error,
        T.resource_exhaustion,
    }
    assert fault_types_that("breaks_connection") == {T.connect_error, T.read_timeout, T.timeout}


def test_every_set_the_acting_code_reads_is_derived_from_the_classes() -> None:
    classes = fault_classes()
    assert set(classes) == set(FaultType)
    for kind, cls in classes.items():
        assert kind.raises is cls.raises
        assert kind.fails is cls.fails
        assert kind.delays is cls.delays
        if cls.raises:
            assert cls.fails, kind
    assert set(plan._EXCEPTIONS) == fault_types_that("raises")
    assert fault_types_that("ends_stream") == _stream_core.ENDING
    assert {
        t for t, c in classes.items() if c.action is Action.during and Site.transport in c.sites
    } == _stream_core.STREAM_FAULTS
    assert {
        t for t, c in classes.items() if c.action is Action.after and Site.transport in c.sites
    } == _output.OUTPUT_FAULTS
    assert fault_types_that("answers") == _request_faults._ANSWERS
    assert fault_types_that("breaks_connection") == _request_faults._RAISES
    assert not _request_faults._ANSWERS & _request_faults._RAISES
    assert {t.value for t in fault_types_that("fails")} == observer._RAISING


def test_a_plan_reads_its_class_declarations() -> None:
    def compiled(fault: FaultConfig) -> plan.FaultPlan:
        return plan.FaultPlan(fault, draw=lambda: 0.0, instruments=tm.instruments_for())

    assert compiled(TruncatedStreamFault()).ends_stream is True
    # an error event fails the stream: on a generator it is not a clean end
    assert compiled(StreamErrorEventFault()).ends_stream is False
    assert compiled(LatencyFault(duration_ms=0)).waits is True


def test_a_new_fault_class_declarations_flow_into_the_sets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A class declares its behaviour and nothing else is edited: the derived sets follow.
    (The enum is closed, so the probe takes the place of ``latency``'s class for the test.)"""
    assert T.latency not in fault_types_that("raises")
    monkeypatch.delitem(base._CLASSES, T.latency)

    class ProbeFault(LatencyFault):
        raises: ClassVar[bool] = True
        fails: ClassVar[bool] = True
        delays: ClassVar[bool] = False
        answers: ClassVar[bool] = True

        fault_type: Literal[FaultType.latency] = FaultType.latency

    assert fault_classes()[T.latency] is ProbeFault
    assert T.latency in fault_types_that("raises")
    assert T.latency in fault_types_that("fails")
    assert T.latency in fault_types_that("answers")
    assert T.latency not in fault_types_that("delays")
    assert T.latency.raises
    assert T.latency.fails
    assert not T.latency.delays
