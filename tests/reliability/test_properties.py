"""Property tests for the models: any input validates or raises ``pydantic.ValidationError``
(never another exception), and every valid model round-trips through JSON and YAML unchanged.

Hypothesis is derandomized and has no example database, so every run (and CI) sees the same
examples. Nested strategies are composites so that their reprs, which Hypothesis computes, stay
short.
"""

from __future__ import annotations

import contextlib
import json
import math
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from aumai_chaos import (
    ChaosExperiment,
    ExperimentResult,
    ExperimentStatus,
    FaultConfig,
    FaultType,
    Observation,
    WorkloadConfig,
)
from aumai_chaos.experiments.models import MAX_CONCURRENCY, MAX_EXPERIMENT_SECONDS
from aumai_chaos.experiments.steady_state import (
    Objective,
    ObjectiveResult,
    StopCondition,
    StopEvent,
    Verdict,
)
from aumai_chaos.faults import MAX_DURATION_MS, fault_class

FUZZ = settings(
    deadline=None,
    max_examples=100,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

# -- valid models ----------------------------------------------------------------------------------

NO_SURROGATES = st.characters(exclude_categories=("Cs",))
COMPONENTS = st.one_of(
    st.sampled_from(["llm", "search", "db.query", "vector-store"]),
    st.text(NO_SURROGATES, min_size=1, max_size=12),
)
#: Text that YAML and JSON writers find awkward: control characters, NEL, line and paragraph
#: separators, BOM, quotes, YAML indicators, words YAML 1.1 reads as other types.
AWKWARD = st.sampled_from(
    [
        "",
        "yes",
        "no",
        "null",
        "~",
        "1.0",
        "0o17",
        "2024-01-01",
        "- a",
        ": b",
        "#c",
        "'\"",
        "a\nb",
        "a\r\nb\r",
        "\x85\u2028\u2029\ufeff",
        "\x00\x07\x1b\x7f",
        "  lead and trail  ",
        "\t",
        "é 中 🙂",
    ]
)
FREE_TEXT = st.one_of(AWKWARD, st.text(NO_SURROGATES, max_size=40))


def finite(low: float, high: float, **kwargs: Any) -> st.SearchStrategy[float]:
    return st.floats(min_value=low, max_value=high, allow_nan=False, **kwargs)


SECONDS = st.one_of(
    finite(0.0, MAX_EXPERIMENT_SECONDS, exclude_min=True),
    st.integers(min_value=1, max_value=int(MAX_EXPERIMENT_SECONDS)),
)
TARGETS = st.from_regex(r"\A[A-Za-z_][\w.]{0,8}:[A-Za-z_][\w.]{0,8}\Z")


def built(model: type[BaseModel], **fields: Any) -> Any:
    """The model, or reject the example when the drawn fields are not valid together."""
    try:
        return model(**fields)
    except ValidationError:
        assume(False)
        raise AssertionError("unreachable") from None


#: The guide's four fault types, which share one set of fields.
GUIDE_FAULT_TYPES = list(FaultType)[:4]
#: Every other fault type with a file form (``transform`` holds a callable, so it has none).
OTHER_FAULT_TYPES = [
    t for t in FaultType if t not in GUIDE_FAULT_TYPES and t is not FaultType.transform
]
#: Candidate values for the fields of the other types; each type takes the ones it declares.
OTHER_FIELDS = {
    "duration_ms": st.integers(0, MAX_DURATION_MS),
    "error_message": st.one_of(st.none(), FREE_TEXT),
    "after_chunks": st.integers(0, 1_000_000),
    "retry_after_s": finite(0.0, 3600.0),
    "quota": st.booleans(),
    "status_code": st.integers(100, 599),
    "keep_fraction": finite(0.0, 0.99),
    "first_only": st.booleans(),
    "context_window": st.integers(1, 100_000_000),
    "tool_calls": st.sampled_from(["first", "all", "random"]),
    "violation": st.sampled_from([None, "missing_required", "wrong_type", "out_of_enum"]),
    "error_type": st.one_of(st.none(), st.sampled_from(["overloaded_error", "api_error"])),
}
POSITION_RULES = {
    "times": st.one_of(st.none(), st.integers(1, 1_000_000_000)),
    "after_calls": st.integers(0, 1_000_000_000),
    "every": st.one_of(st.none(), st.integers(1, 1_000_000_000)),
}


@st.composite
def faults(draw: st.DrawFn) -> FaultConfig:
    if draw(st.integers(0, 2)) == 0:
        fault_type = draw(st.sampled_from(OTHER_FAULT_TYPES))
        declared = fault_class(fault_type).model_fields
        fields = {
            name: draw(strategy) for name, strategy in OTHER_FIELDS.items() if name in declared
        }
        return built(
            FaultConfig,
            fault_type=draw(st.sampled_from([fault_type, fault_type.value])),
            probability=draw(st.one_of(finite(0.0, 1.0), st.sampled_from([0.0, 1.0]))),
            affected_components=draw(st.lists(COMPONENTS, max_size=3)),
            **draw(st.fixed_dictionaries({}, optional=POSITION_RULES)),
            **fields,
        )
    fault_type = draw(st.sampled_from(GUIDE_FAULT_TYPES))
    duration = draw(st.one_of(st.none(), st.integers(0, MAX_DURATION_MS)))
    if fault_type is FaultType.latency and duration is None:
        duration = draw(st.integers(0, 5000))
    return built(
        FaultConfig,
        fault_type=draw(st.sampled_from([fault_type, fault_type.value])),
        probability=draw(st.one_of(finite(0.0, 1.0), st.sampled_from([0.0, 1.0]))),
        duration_ms=duration,
        error_code=draw(st.one_of(st.none(), st.integers(0, 65535))),
        error_message=draw(st.one_of(st.none(), FREE_TEXT)),
        affected_components=draw(st.lists(COMPONENTS, max_size=3)),
    )


LIMITS = {
    "max_error_rate": finite(0.0, 1.0),
    "min_success_rate": finite(0.0, 1.0),
    "max_latency_p50_ms": finite(0.0, 3_600_000.0),
    "max_latency_p95_ms": finite(0.0, 3_600_000.0),
    "max_latency_p99_ms": finite(0.0, 3_600_000.0),
    "min_calls": st.integers(0, 10**12),
}


@st.composite
def objectives(draw: st.DrawFn) -> Objective:
    limits = draw(st.fixed_dictionaries({}, optional=LIMITS))
    first = draw(st.sampled_from(sorted(LIMITS)))
    limits.setdefault(first, draw(LIMITS[first]))
    return built(Objective, component=draw(st.one_of(COMPONENTS, st.just("workload"))), **limits)


@st.composite
def stop_conditions(draw: st.DrawFn) -> StopCondition:
    rate = draw(st.one_of(st.none(), finite(0.0, 1.0)))
    cap = draw(st.integers(0, 10**12)) if rate is None else draw(st.none() | st.integers(0, 10**6))
    return built(
        StopCondition,
        component=draw(st.one_of(st.none(), COMPONENTS)),
        max_error_rate=rate,
        window_seconds=draw(finite(0.0, 3600.0, exclude_min=True)),
        min_calls=draw(st.integers(1, 10**9)),
        max_injections=cap,
    )


@st.composite
def workloads(draw: st.DrawFn) -> WorkloadConfig:
    return built(
        WorkloadConfig,
        target=draw(TARGETS),
        concurrency=draw(st.integers(1, MAX_CONCURRENCY)),
        interval_seconds=draw(finite(0.0, 3600.0)),
    )


@st.composite
def experiments(draw: st.DrawFn) -> ChaosExperiment:
    duration = draw(SECONDS)
    return built(
        ChaosExperiment,
        experiment_id=draw(st.one_of(COMPONENTS, st.uuids().map(str))),
        name=draw(FREE_TEXT),
        description=draw(FREE_TEXT),
        duration_seconds=duration,
        target_components=draw(st.lists(COMPONENTS, max_size=3)),
        faults=draw(st.lists(faults(), max_size=4)),
        tick_seconds=draw(st.one_of(st.just(duration), finite(0.0, duration, exclude_min=True))),
        seed=draw(st.one_of(st.none(), st.integers(0, 2**63 - 1))),
        workload=draw(st.one_of(st.none(), TARGETS, workloads())),  # a string is shorthand
        steady_state=draw(st.lists(objectives(), max_size=3)),
        baseline_seconds=draw(st.one_of(st.none(), SECONDS)),
        stop_conditions=draw(st.lists(stop_conditions(), max_size=2)),
        require_faults_fired=draw(st.booleans()),
        trace_calls=draw(st.sampled_from(["all", "faults"])),
    )


VALID: dict[type[BaseModel], st.SearchStrategy[Any]] = {
    ChaosExperiment: experiments(),
    FaultConfig: faults(),
    Objective: objectives(),
    StopCondition: stop_conditions(),
    WorkloadConfig: workloads(),
}

# -- junk ------------------------------------------------------------------------------------------

FIELDS = {model: tuple(model.model_fields) for model in VALID}
# FaultConfig builds the class of its fault_type: the guide's four share these fields.
FIELDS[FaultConfig] = tuple(fault_class(FaultType.error).model_fields)


def typos(name: str) -> list[str]:
    """Near misses of a field name, as people write them."""
    return [
        name.upper(),
        name[:-1],
        name + "s",
        name.replace("_", "-"),
        name.replace("_", ""),
        f" {name}",
        f"{name} ",
        name.title(),
    ]


REAL_KEYS = sorted({name for names in FIELDS.values() for name in names})
TYPOS = sorted({typo for name in REAL_KEYS for typo in typos(name)})
ANY_TEXT = st.text(max_size=20)  # lone surrogates included: junk only

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),  # NaN and the infinities included
    st.floats(min_value=-1e6, max_value=1e6),
    ANY_TEXT,
    st.sampled_from([*(t.value for t in FaultType), "LATENCY", "x.y:z", "a:b", ""]),
    st.binary(max_size=8),
    st.datetimes(),
    st.dates(),
)
#: What a YAML or JSON document (or a careless caller) can hand to ``model_validate``.
JUNK = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.tuples(inner, inner),
        st.dictionaries(st.one_of(ANY_TEXT, st.integers(), st.none()), inner, max_size=4),
    ),
    max_leaves=8,
)
ANY_KEY = st.one_of(
    st.sampled_from(REAL_KEYS),
    st.sampled_from(TYPOS),
    ANY_TEXT,
    st.integers(),
    st.none(),
    st.booleans(),
    st.floats(allow_nan=False),
    st.dates(),
)


def near_bounds(low: float, high: float) -> st.SearchStrategy[Any]:
    """Numbers at and just past a field's bounds, ints and floats, anything in between, and a
    few values of the wrong type."""
    return st.one_of(
        st.sampled_from([low, high, low - 1, high + 1, math.nextafter(low, -math.inf)]),
        st.sampled_from([math.nextafter(high, math.inf), 0, -0.0, 1, True, "1", None]),
        st.floats(min_value=float(low), max_value=float(high)),
        st.integers(min_value=int(low) - 2, max_value=int(high) + 2),
    )


def fuzz_mapping(fields: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[Any, Any]]:
    """Some of the real keys with plausible or junk values, sometimes with junk keys too."""
    real = st.fixed_dictionaries({}, optional={k: st.one_of(v, JUNK) for k, v in fields.items()})
    extra = st.one_of(st.just({}), st.dictionaries(ANY_KEY, JUNK, max_size=3))

    @st.composite
    def mapping(draw: st.DrawFn) -> dict[Any, Any]:
        a, b = draw(real), draw(extra)
        return {**b, **a} if len(b) % 2 else {**a, **b}

    return mapping()


NAMES = st.one_of(COMPONENTS, st.sampled_from(["", " ", " llm ", "a" * 201, "\ud800"]))
FAULT_FIELDS = {
    "fault_type": st.sampled_from([*(t.value for t in FaultType), "LATENCY", "crash", ""]),
    "probability": near_bounds(0.0, 1.0),
    "duration_ms": near_bounds(0, MAX_DURATION_MS),
    "error_code": near_bounds(0, 65535),
    "error_message": st.one_of(FREE_TEXT, st.just("m" * 2001)),
    "affected_components": st.lists(NAMES, max_size=3),
    "times": near_bounds(1, 10**9),
    "after_calls": near_bounds(0, 10**9),
    "every": near_bounds(1, 10**9),
}
OBJECTIVE_FIELDS = {
    "component": NAMES,
    "max_error_rate": near_bounds(0.0, 1.0),
    "min_success_rate": near_bounds(0.0, 1.0),
    "max_latency_p50_ms": near_bounds(0.0, 3_600_000.0),
    "max_latency_p95_ms": near_bounds(0.0, 3_600_000.0),
    "max_latency_p99_ms": near_bounds(0.0, 3_600_000.0),
    "min_calls": near_bounds(0, 10**12),
    "fault_type": st.one_of(st.none(), st.sampled_from(["rate_limit", "error", "", "x" * 201])),
    "min_recovery_rate": near_bounds(0.0, 1.0),
    "min_pass_rate": near_bounds(0.0, 1.0),
    "on": st.sampled_from(["lower", "point", "upper", "", 1]),
}
STOP_FIELDS = {
    "component": st.one_of(st.none(), NAMES),
    "max_error_rate": near_bounds(0.0, 1.0),
    "window_seconds": near_bounds(0.0, 3600.0),
    "min_calls": near_bounds(1, 10**9),
    "max_injections": near_bounds(0, 10**12),
}
WORKLOAD_FIELDS = {
    "target": st.sampled_from(["pkg.mod:fn", " a:b ", "a:", ":b", "a.b", "1a:b", "a:b\n"]),
    "concurrency": near_bounds(1, MAX_CONCURRENCY),
    "interval_seconds": near_bounds(0.0, 3600.0),
}
EXPERIMENT_FIELDS = {
    "experiment_id": NAMES,
    "name": st.one_of(FREE_TEXT, st.just("n" * 501)),
    "description": FREE_TEXT,
    "duration_seconds": near_bounds(0.0, MAX_EXPERIMENT_SECONDS),
    "target_components": st.lists(NAMES, max_size=3),
    "faults": st.lists(fuzz_mapping(FAULT_FIELDS), max_size=3),
    "tick_seconds": near_bounds(0.0, MAX_EXPERIMENT_SECONDS),
    "seed": near_bounds(0, 2**63 - 1),
    "workload": st.one_of(st.sampled_from(["pkg.mod:fn", "nope"]), fuzz_mapping(WORKLOAD_FIELDS)),
    "steady_state": st.lists(fuzz_mapping(OBJECTIVE_FIELDS), max_size=2),
    "baseline_seconds": near_bounds(0.0, MAX_EXPERIMENT_SECONDS),
    "stop_conditions": st.lists(fuzz_mapping(STOP_FIELDS), max_size=2),
    "require_faults_fired": st.one_of(st.booleans(), st.sampled_from([0, 1, "true"])),
    "trace_calls": st.sampled_from(["all", "faults", "none", "", 1]),
    "scope": st.sampled_from([None, "baggage", "context", "", 1]),
    "repeat": near_bounds(1, 1000),
}
FIELD_VALUES: dict[type[BaseModel], dict[str, st.SearchStrategy[Any]]] = {
    ChaosExperiment: EXPERIMENT_FIELDS,
    FaultConfig: FAULT_FIELDS,
    Objective: OBJECTIVE_FIELDS,
    StopCondition: STOP_FIELDS,
    WorkloadConfig: WORKLOAD_FIELDS,
}
# Every field of every model is fuzzed.
assert all(set(FIELD_VALUES[m]) == set(FIELDS[m]) for m in VALID)


def mutated(model: type[BaseModel]) -> st.SearchStrategy[dict[Any, Any]]:
    """A valid model's plain form with one to three edits: a key dropped, misspelt or added, a
    value replaced by junk or by a value near a bound. Many of these are still valid."""
    fields = FIELD_VALUES[model]

    @st.composite
    def mutation(draw: st.DrawFn) -> dict[Any, Any]:
        data: dict[Any, Any] = draw(VALID[model]).model_dump(
            mode=draw(st.sampled_from(["python", "json"]))
        )
        for _ in range(draw(st.integers(1, 3))):
            key = draw(st.sampled_from(sorted(fields)))
            edit = draw(st.sampled_from(["drop", "typo", "junk", "field", "add"]))
            if edit == "drop":
                data.pop(key, None)
            elif edit == "typo" and key in data:
                data[draw(st.sampled_from(typos(key)))] = data.pop(key)
            elif edit == "junk":
                data[key] = draw(JUNK)
            elif edit == "field":
                data[key] = draw(fields[key])
            else:
                data[draw(ANY_KEY)] = draw(JUNK)
        return data

    return mutation()


def inputs(model: type[BaseModel]) -> st.SearchStrategy[Any]:
    return st.one_of(fuzz_mapping(FIELD_VALUES[model]), mutated(model))


def validate_or_validation_error(model: type[BaseModel], data: Any) -> BaseModel | None:
    """Validate ``data``: the model, or ``None`` when it raised ``ValidationError``.

    Any other exception escapes and fails the test."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors, message = exc.errors(), str(exc)
    assert errors, "a ValidationError says what is wrong"
    assert message
    return None


EXAMPLES = {
    ChaosExperiment: 150,
    FaultConfig: 120,
    Objective: 80,
    StopCondition: 80,
    WorkloadConfig: 60,
}


@pytest.mark.parametrize("model", list(VALID), ids=lambda m: m.__name__)
def test_any_mapping_validates_or_raises_validation_error(model: type[BaseModel]) -> None:
    outcomes = {"valid": 0, "invalid": 0}

    @settings(FUZZ, max_examples=EXAMPLES[model])
    @given(mapping=inputs(model))
    def check(mapping: dict[Any, Any]) -> None:
        valid = validate_or_validation_error(model, mapping) is not None
        outcomes["valid" if valid else "invalid"] += 1

    check()
    # Guard against a fuzzer that only ever produces junk, or never does.
    assert outcomes["valid"] >= EXAMPLES[model] // 20, outcomes
    assert outcomes["invalid"] >= EXAMPLES[model] // 4, outcomes


@pytest.mark.parametrize("model", list(VALID), ids=lambda m: m.__name__)
@settings(FUZZ, max_examples=40)
@given(value=JUNK)
def test_any_value_validates_or_raises_validation_error(model: type[BaseModel], value: Any) -> None:
    validate_or_validation_error(model, value)


@pytest.mark.parametrize("model", [ChaosExperiment, FaultConfig], ids=lambda m: m.__name__)
@settings(FUZZ, max_examples=60)
@given(raw=st.one_of(st.binary(max_size=200), ANY_TEXT.map(lambda t: t.encode("utf-8", "replace"))))
def test_any_json_bytes_validate_or_raise_validation_error(
    model: type[BaseModel], raw: bytes
) -> None:
    with contextlib.suppress(ValidationError):
        model.model_validate_json(raw)


@settings(FUZZ, max_examples=80)
@given(mapping=inputs(ChaosExperiment))
def test_json_text_is_accepted_exactly_like_the_mapping(mapping: dict[Any, Any]) -> None:
    """``model_validate_json`` of a mapping's JSON form accepts what ``model_validate`` of the
    parsed mapping does, and gives the same model."""
    try:
        text = json.dumps(mapping, allow_nan=False)
    except (TypeError, ValueError):  # bytes, dates, non-string keys, non-finite floats
        assume(False)
        return
    direct = validate_or_validation_error(ChaosExperiment, json.loads(text))
    try:
        from_json: ChaosExperiment | None = ChaosExperiment.model_validate_json(text)
    except ValidationError:
        from_json = None
    assert direct == from_json


# -- round trips -----------------------------------------------------------------------------------


def yaml_round_trip(model: BaseModel, *, allow_unicode: bool = True) -> Any:
    text = yaml.safe_dump(model.model_dump(mode="json"), allow_unicode=allow_unicode)
    return type(model).model_validate(yaml.safe_load(text))


def json_round_trip(model: BaseModel) -> Any:
    return type(model).model_validate_json(model.model_dump_json())


@settings(FUZZ, max_examples=80)
@given(exp=experiments())
def test_every_valid_experiment_round_trips_through_json_and_yaml(exp: ChaosExperiment) -> None:
    assert json_round_trip(exp) == exp
    assert yaml_round_trip(exp) == exp
    assert yaml_round_trip(exp, allow_unicode=False) == exp  # escapes instead of raw characters
    # What is written is a fixed point: writing the reloaded model gives the same text.
    assert json_round_trip(exp).model_dump_json() == exp.model_dump_json()


@settings(FUZZ, max_examples=60)
@given(model=st.one_of(faults(), objectives(), stop_conditions(), workloads()))
def test_every_valid_part_round_trips_through_json_and_yaml(model: BaseModel) -> None:
    assert json_round_trip(model) == model
    assert yaml_round_trip(model) == model


RESULT_TEXT = st.text(NO_SURROGATES, max_size=12)
JSON_VALUES = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**63), max_value=2**64 - 1),
        st.floats(allow_nan=False, allow_infinity=False),
        RESULT_TEXT,
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(RESULT_TEXT, inner, max_size=4)
    ),
    max_leaves=10,
)
OFFSETS = st.one_of(
    st.just(UTC),
    st.integers(-(23 * 60 + 59), 23 * 60 + 59).map(lambda m: timezone(timedelta(minutes=m))),
)
AWARE = st.datetimes(
    min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1), timezones=OFFSETS
)


@st.composite
def results(draw: st.DrawFn) -> ExperimentResult:
    finite_float = st.floats(allow_nan=False, allow_infinity=False)
    observations = [
        Observation(
            component=draw(RESULT_TEXT),
            event=draw(st.sampled_from(["call", "fault_injected", "iteration", "custom"])),
            timestamp=draw(AWARE),
            details=draw(st.dictionaries(RESULT_TEXT, JSON_VALUES, max_size=4)),
        )
        for _ in range(draw(st.integers(0, 4)))
    ]
    objective_results = [
        ObjectiveResult(
            phase=draw(st.sampled_from(["baseline", "faults"])),
            component=draw(RESULT_TEXT),
            limit=draw(st.sampled_from(sorted(LIMITS))),
            threshold=draw(finite_float),
            observed=draw(finite_float),
            passed=draw(st.booleans()),
        )
        for _ in range(draw(st.integers(0, 3)))
    ]
    stopped_by = None
    if draw(st.booleans()):
        stopped_by = StopEvent(
            condition=draw(RESULT_TEXT),
            index=draw(st.integers(0, 10)),
            at=draw(AWARE),
            observed=draw(finite_float),
        )
    return ExperimentResult(
        experiment_id=draw(RESULT_TEXT),
        name=draw(RESULT_TEXT),
        status=draw(st.sampled_from(ExperimentStatus)),
        start_time=draw(st.none() | AWARE),
        end_time=draw(st.none() | AWARE),
        summary=draw(st.dictionaries(RESULT_TEXT, JSON_VALUES, max_size=5)),
        observations=observations,
        dropped_observations=draw(st.integers(0, 2**40)),
        seed=draw(st.none() | st.integers(0, 2**63 - 1)),
        error=draw(st.none() | RESULT_TEXT),
        verdict=draw(st.none() | st.sampled_from(Verdict)),
        objectives=objective_results,
        baseline=draw(st.none() | st.dictionaries(RESULT_TEXT, JSON_VALUES, max_size=3)),
        stopped_by=stopped_by,
    )


@settings(FUZZ, max_examples=80)
@given(result=results())
def test_every_result_round_trips_through_json(result: ExperimentResult) -> None:
    again = json_round_trip(result)
    assert again == result
    # Instants and offsets survive.
    for before, after in zip(result.observations, again.observations, strict=True):
        assert before.timestamp == after.timestamp
        assert before.timestamp.utcoffset() == after.timestamp.utcoffset()
    assert json_round_trip(again).model_dump_json() == result.model_dump_json()
