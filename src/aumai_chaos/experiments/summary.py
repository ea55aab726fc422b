"""The summary of a run, as typed models that read like the plain JSON they serialise to.

:class:`Summary` is what :attr:`ExperimentResult.summary` holds. Each model serialises to exactly
the keys it was given, in the order below: a key the run did not produce (``workload`` without
one, ``notes`` when there is nothing to note, a fault's ``probability`` in a hand-written file)
stays absent, so a result file reads back to the same model and dumps to the same JSON.

Code reads the models by attribute. The guide and older code read them by key, as they read the
dicts of 0.1: ``summary["components"]["llm"]["calls"]``, ``summary.get("duration_seconds")``,
``"notes" in summary``, ``keys()`` and ``items()`` over the keys that are set, and equality with
a plain dict. They are read-only: a summary is built once, when its run closes.

May import: pydantic only.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

__all__ = [
    "ComponentStats",
    "FaultReport",
    "LatencyStats",
    "RecoveryRow",
    "SeriesComponent",
    "SeriesWorkload",
    "Summary",
    "SummarySeries",
    "TrialRow",
    "TrialsSummary",
    "WorkloadStats",
]

_MISSING: Any = object()


class _Keyed(BaseModel):
    """A model that also reads as a mapping of the keys that were set."""

    model_config = ConfigDict(extra="forbid")

    @model_serializer(mode="wrap")
    def _set_keys_only(self, handler: SerializerFunctionWrapHandler) -> Any:
        data = handler(self)
        if not isinstance(data, dict):  # pragma: no cover - a model always dumps to a dict
            return data
        present = self.model_fields_set
        return {k: v for k, v in data.items() if k in present or k in (self.model_extra or {})}

    def keys(self) -> list[str]:
        """The keys that are set: declared fields in order, then any extra keys as read."""
        present = self.model_fields_set
        names = [name for name in type(self).model_fields if name in present]
        return names + list(self.model_extra or {})

    def __getitem__(self, key: str) -> Any:
        extra = self.model_extra or {}
        if key in extra:
            return extra[key]
        if key in type(self).model_fields and key in self.model_fields_set:
            return getattr(self, key)
        raise KeyError(key)

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key, _MISSING) is not _MISSING

    def __iter__(self) -> Iterator[str]:  # type: ignore[override]
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self.keys())

    def items(self) -> list[tuple[str, Any]]:
        return [(k, self[k]) for k in self.keys()]

    def values(self) -> list[Any]:
        return [self[k] for k in self.keys()]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, _Keyed):
            return self.model_dump() == other.model_dump()
        if isinstance(other, Mapping):
            return self.model_dump() == dict(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]


Mapping.register(_Keyed)


class LatencyStats(_Keyed):
    """Nearest-rank latency percentiles in ms, within 0.78% (a fixed-size log-linear
    histogram; docs/experiments-in-code.md)."""

    p50: float = 0.0
    p95: float = 0.0
    p99: float = 0.0


class ComponentStats(_Keyed):
    """Calls into one component: outcomes, error types and latency."""

    calls: int = 0
    faults: int = 0
    errors: int = 0
    error_rate: float = 0.0
    error_types: dict[str, int] = Field(default_factory=dict)
    latency_ms: LatencyStats = Field(default_factory=LatencyStats)
    #: The first message seen for each error type (present when there was an error).
    first_errors: dict[str, str] = Field(default_factory=dict)


class WorkloadStats(_Keyed):
    """The workload's iterations: outcomes, failure types and latency."""

    iterations: int = 0
    failures: int = 0
    failure_rate: float = 0.0
    failure_types: dict[str, int] = Field(default_factory=dict)
    latency_ms: LatencyStats = Field(default_factory=LatencyStats)
    first_errors: dict[str, str] = Field(default_factory=dict)


class FaultReport(_Keyed):
    """One declared fault and how often it fired: the proof that it really did."""

    fault_type: str = ""
    affected_components: list[str] = Field(default_factory=list)
    probability: float = 0.0
    fired: int = 0


class RecoveryRow(_Keyed):
    """The outcomes of the faults of one type fired into one component (docs/recovery.md):
    ``rate`` is ``recovered / fired`` with its Wilson 95% interval ``rate_low``..``rate_high``;
    ``mechanisms`` counts the recoveries by ``retry``, ``fallback`` and ``absorbed``; the time
    to recovery at p50 and p95 in ms."""

    fault_type: str = ""
    component: str = ""
    fired: int = 0
    recovered: int = 0
    propagated: int = 0
    unknown: int = 0
    mechanisms: dict[str, int] = Field(default_factory=dict)
    rate: float = 0.0
    rate_low: float = 0.0
    rate_high: float = 1.0
    recovery_ms_p50: float = 0.0
    recovery_ms_p95: float = 0.0


class TrialRow(_Keyed):
    """One trial of a ``repeat``: its seed and what it concluded."""

    trial: int = 0
    seed: int | None = None
    status: str = ""
    verdict: str | None = None
    verdict_reason: str | None = None
    total_faults_fired: int = 0


class TrialsSummary(_Keyed):
    """The trials of a ``repeat: N`` (docs/recovery.md): how many passed (their verdict was
    ``passed``), the pass rate with its Wilson 95% interval, and ``pass_hat_k[k-1]`` = pass^k,
    the chance that k trials all pass, for k = 1..N (the τ-bench estimator)."""

    trials: list[TrialRow] = Field(default_factory=list)
    passed: int = 0
    pass_rate: float = 0.0
    pass_rate_low: float = 0.0
    pass_rate_high: float = 1.0
    pass_hat_k: list[float] = Field(default_factory=list)


class SeriesWorkload(_Keyed):
    """The workload's per-bucket counts and latency p95."""

    iterations: list[int] = Field(default_factory=list)
    failures: list[int] = Field(default_factory=list)
    latency_p95_ms: list[float] = Field(default_factory=list)


class SeriesComponent(_Keyed):
    """One component's per-bucket counts."""

    calls: list[int] = Field(default_factory=list)
    errors: list[int] = Field(default_factory=list)
    faults: list[int] = Field(default_factory=list)
    faults_by_type: dict[str, list[int]] = Field(default_factory=dict)


class SummarySeries(_Keyed):
    """The per-second series behind the charts (see ``experiments/_series.py``)."""

    step_seconds: int = 1
    buckets: int = 0
    workload: SeriesWorkload = Field(default_factory=SeriesWorkload)
    components: dict[str, SeriesComponent] = Field(default_factory=dict)


class Summary(_Keyed):
    """A run's summary: the guide's keys, then per-component, workload and fault statistics.

    Extra keys (from hand-written or future result files) are kept as they were read.
    """

    model_config = ConfigDict(extra="allow")

    total_faults_fired: int = 0
    faults_by_type: dict[str, int] = Field(default_factory=dict)
    #: The injected faults that failed their call, by fault type: those that raise at a
    #: decorated call and, on a transport, those that answer with an HTTP error or raise the
    #: client's error (``FaultType.fails``). A component's ``errors`` counts every failed call.
    errors_by_type: dict[str, int] = Field(default_factory=dict)
    duration_seconds: float | None = None
    components: dict[str, ComponentStats] = Field(default_factory=dict)
    workload: WorkloadStats | None = None
    series: SummarySeries | None = None
    observations_dropped: int = 0
    faults: list[FaultReport] = Field(default_factory=list)
    #: One row per fault type and component: did the agent recover (docs/recovery.md).
    recovery: list[RecoveryRow] = Field(default_factory=list)
    #: The trials of a ``repeat`` (present only then; the recovery rows are then theirs, summed).
    trials: TrialsSummary | None = None
    notes: list[str] = Field(default_factory=list)
