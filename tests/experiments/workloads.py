"""Workloads that experiments name by import path (``tests.experiments.workloads:...``)."""

from __future__ import annotations

import asyncio
import threading
import time

from aumai_chaos import chaos_target

#: Not a workload: naming it must fail the run.
NOT_CALLABLE = 42

COMPONENT = "workloads.dependency"
calls: list[tuple[str, int]] = []
_lock = threading.Lock()


@chaos_target(COMPONENT)
def dependency() -> None:
    """The component the workloads below call."""


def sync_iteration() -> None:
    with _lock:
        calls.append(("sync", threading.get_ident()))
    dependency()
    time.sleep(0.001)


async def async_iteration() -> None:
    with _lock:
        calls.append(("async", threading.get_ident()))
    dependency()
    await asyncio.sleep(0.001)


class Agent:
    """A workload reached through an attribute path: ``workloads:Agent.step``."""

    @staticmethod
    def step() -> None:
        with _lock:
            calls.append(("step", threading.get_ident()))
        time.sleep(0.001)


def needs_arg(a: object) -> object:
    """Not callable with no arguments: loading it must fail."""
    return a


def always_fails() -> None:
    """A broken workload: every iteration fails the same way, before any fault could."""
    raise RuntimeError("the workload forgot its configuration")
