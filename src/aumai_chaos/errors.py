"""Every exception aumai-chaos raises, in one place.

The tree::

    Exception
    ├── InjectedFaultError            any fault injected on purpose; ``.fault`` is its FaultConfig
    │   ├── ChaosError                an ``error`` fault: ``.error_code``, ``.error_message``
    │   ├── ChaosTimeoutError         a ``timeout`` fault; also a built-in ``TimeoutError``
    │   ├── ResourceExhaustedError    a ``resource_exhaustion`` fault
    │   └── StreamCutError            a ``stream_cut`` fault on a generator; also a
    │                                 built-in ``ConnectionError``, as a dropped stream is
    └── AumaiChaosError               a problem with how aumai-chaos is used
        ├── ConfigError               bad experiment file or model input (also a ``ValueError``)
        ├── ExperimentNotFoundError   unknown experiment id (also a ``KeyError``)
        ├── ExperimentStateError      e.g. scheduling an id twice, running a finished experiment
        └── WorkloadError             a workload that cannot be imported or called

``ChaosTimeoutError`` and ``ResourceExhaustedError`` are deliberately *not* ``ChaosError``
subclasses: code that handles rate limits with ``except ChaosError`` must not swallow timeouts,
and the user's guide catches them in separate branches. ``except InjectedFaultError`` catches all
of them at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aumai_chaos.faults import FaultConfig

__all__ = [
    "AumaiChaosError",
    "ChaosError",
    "ChaosTimeoutError",
    "ConfigError",
    "ExperimentNotFoundError",
    "ExperimentStateError",
    "InjectedFaultError",
    "ResourceExhaustedError",
    "StreamCutError",
    "WorkloadError",
]

DEFAULT_ERROR_CODE = 500


class InjectedFaultError(Exception):
    """Base of every exception raised by an injected fault.

    ``fault`` is the :class:`~aumai_chaos.FaultConfig` that caused it (``None`` only when the
    exception was built by hand).
    """

    def __init__(self, message: str, *, fault: FaultConfig | None = None) -> None:
        super().__init__(message)
        self.fault = fault

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.__dict__.copy(), self.args))


def _rebuild(cls: type[InjectedFaultError], state: dict[str, Any], args: tuple[Any, ...]) -> Any:
    exc = cls.__new__(cls)
    Exception.__init__(exc, *args)
    exc.__dict__.update(state)
    return exc


class ChaosError(InjectedFaultError):
    """An injected ``error`` fault, standing for a failed upstream call (HTTP 5xx, 429, ...)."""

    def __init__(
        self,
        error_code: int = DEFAULT_ERROR_CODE,
        error_message: str = "Injected error",
        *,
        fault: FaultConfig | None = None,
    ) -> None:
        super().__init__(f"[{error_code}] {error_message}", fault=fault)
        self.error_code = error_code
        self.error_message = error_message


class ChaosTimeoutError(InjectedFaultError, TimeoutError):
    """An injected ``timeout`` fault. ``except TimeoutError`` catches it too."""


class ResourceExhaustedError(InjectedFaultError):
    """An injected ``resource_exhaustion`` fault (quota, memory, connection pool...)."""


class StreamCutError(InjectedFaultError, ConnectionError):
    """An injected ``stream_cut`` fault: a generator's stream dropped after some items.
    ``except ConnectionError`` catches it too, as it would a real peer reset."""


class AumaiChaosError(Exception):
    """Base of the errors about how aumai-chaos itself is used."""


class ConfigError(AumaiChaosError, ValueError):
    """Invalid fault or experiment configuration.

    ``str(exc)`` is one line naming the source (a file, when there is one), the field path and
    the problem; the parts are also kept as attributes.
    """

    def __init__(
        self,
        problem: str,
        *,
        source: str | None = None,
        field: str | None = None,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        self.problem = problem
        self.source = source
        self.field = field
        self.line = line
        self.column = column
        where = source or ""
        if line is not None:
            where += f":{line}" + (f":{column}" if column is not None else "")
        parts = [p for p in (where, field) if p]
        super().__init__(": ".join([*parts, problem]))


class ExperimentNotFoundError(AumaiChaosError, KeyError):
    """No experiment with that id was scheduled."""

    def __init__(self, experiment_id: str) -> None:
        super().__init__(experiment_id)
        self.experiment_id = experiment_id

    def __str__(self) -> str:
        return (
            f"no experiment {self.experiment_id!r} is scheduled; "
            "call scheduler.schedule(experiment) first"
        )


class ExperimentStateError(AumaiChaosError):
    """The experiment is not in a state that allows the operation."""


class WorkloadError(AumaiChaosError):
    """The experiment's workload could not be loaded or started."""
