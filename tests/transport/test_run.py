"""The hand-over between a command generator and its drivers (``transport/_run.py``)."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest

from aumai_chaos.transport._run import Run


def _steps(log: list[str]) -> Generator[str, Any, str]:
    first = yield "send"
    log.append(f"got {first}")
    try:
        yield "wait"
    except ValueError as err:
        log.append(f"wait failed: {err}")
    finally:
        log.append("span ended")
    second = yield "after"
    return f"{first}+{second}"


def test_a_value_is_sent_in_an_error_thrown_in_and_the_return_value_kept() -> None:
    log: list[str] = []
    run = Run(_steps(log))
    assert run.next() == "send"
    run.result = "response"
    assert run.next() == "wait"
    run.error = ValueError("cancelled")
    assert run.next() == "after"
    # Nothing set for this step: the generator gets None, not the previous step's value.
    assert run.next() is None
    assert run.result == "response+None"
    assert log == ["got response", "wait failed: cancelled", "span ended"]


def test_an_error_the_steps_do_not_handle_reaches_the_driver_after_their_finally() -> None:
    log: list[str] = []
    run = Run(_steps(log))
    run.next()
    run.next()
    run.error = KeyboardInterrupt()
    with pytest.raises(KeyboardInterrupt):
        run.next()
    assert log == ["got None", "span ended"]
