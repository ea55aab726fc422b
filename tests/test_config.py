"""Reading experiment files and saved results: every failure is one ConfigError, one line, naming
the file, the field and the problem (with the line and column for YAML)."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aumai_chaos import ChaosExperiment, ConfigError, ExperimentResult, ExperimentStatus, FaultType
from aumai_chaos.experiments.files import (
    MAX_EXPERIMENT_FILE_BYTES,
    load_experiment_file,
    load_result_file,
)
from tests.helpers import REPO

BAD = REPO / "tests" / "data" / "bad"
QUICK = REPO / "examples" / "experiments" / "quick-experiment.yaml"

MINIMAL = 'experiment_id: "ok"\nname: "ok"\nduration_seconds: 5\n'

#: file -> (field path or None, a phrase of the problem, line or None)
BAD_FILES: dict[str, tuple[str | None, str, int | None]] = {
    "typo-key.yaml": ("faults[1].probabilty", "unknown field; did you mean 'probability'?", 9),
    "probability-out-of-range.yaml": ("faults[0].probability", "less than or equal to 1", 6),
    "empty.yaml": (None, "file is empty", None),
    "binary-garbage.yaml": (None, "binary file", None),
    "non-utf8.yaml": (None, "not valid UTF-8", 1),
    "utf16.yaml": (None, "UTF-16", None),
    "syntax-error.yaml": (None, "invalid YAML", 5),
    "syntax-error.json": (None, "invalid JSON", 1),
    "python-object-tag.yaml": (None, "'!!python/object/apply:os.system' is not allowed", 2),
    "alias-bomb.yaml": (None, "alias bomb", None),
    "recursive-alias.yaml": (None, "recursive alias", 4),
    "top-level-list.yaml": (None, "top level must be a mapping", 1),
    "absurd-duration.yaml": ("duration_seconds", "less than or equal to 86400", 3),
    "deep-nesting.yaml": (None, "nested too deeply", 4),
    "deep-nesting.json": (None, "nested too deeply", None),
    "duplicate-key.yaml": (None, "duplicate key 'duration_seconds'", 4),
    "missing-field.json": ("name", "required field is missing", None),
    "wrong-type.yaml": ("duration_seconds", "valid number", 3),
    "bad-workload.yaml": ("workload.target", "package.module:function", 4),
    "mcp-components.yaml": (
        "faults[0].affected_components[0]",
        "'mcp.tool.' names no tool",
        6,
    ),
}
#: Files with more than one problem: one line each, the first one checked like the others.
MULTI_PROBLEM = {"mcp-components.yaml"}


def test_every_component_problem_is_named_in_one_line() -> None:
    """One line for each problem, at its line, column and field (a component is located like
    any other field)."""
    path = BAD / "mcp-components.yaml"
    with pytest.raises(ConfigError) as info:
        load_experiment_file(path)
    lines = str(info.value).splitlines()
    assert lines[0].startswith(
        f"{path}:6:27: faults[0].affected_components[0]: 'mcp.tool.' names no tool"
    )
    assert lines[1:] == [
        f"{path}:8:27: faults[1].affected_components[0]: rate_limit cannot act on "
        "mcp.tool.search_docs, an MCP component (see docs/mcp.md)"
    ]


def test_the_corpus_is_covered() -> None:
    assert sorted(p.name for p in BAD.iterdir()) == sorted(BAD_FILES)


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_file_is_one_clear_config_error(name: str) -> None:
    field, phrase, line = BAD_FILES[name]
    path = BAD / name
    with pytest.raises(ConfigError) as info:
        load_experiment_file(path)
    exc = info.value
    message = str(exc)
    if name in MULTI_PROBLEM:
        message = message.splitlines()[0]
    else:
        assert "\n" not in message  # each of these files has one problem: one line
    assert message.startswith(str(path))
    assert phrase in message
    assert exc.source == str(path)
    assert exc.field == field
    if field is not None:
        assert f": {field}: " in message
    if line is not None:
        assert exc.line == line
        assert message.startswith(f"{path}:{line}")
    assert isinstance(exc.__cause__, Exception) or exc.__cause__ is None


def test_yaml_errors_carry_line_and_column() -> None:
    with pytest.raises(ConfigError) as info:
        load_experiment_file(BAD / "typo-key.yaml")
    assert (info.value.line, info.value.column) == (9, 5)
    assert str(info.value) == (
        f"{BAD / 'typo-key.yaml'}:9:5: faults[1].probabilty: "
        "unknown field; did you mean 'probability'?"
    )


def test_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_experiment_file(tmp_path / "nope.yaml")


def test_a_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a directory"):
        load_experiment_file(tmp_path)


def test_not_a_regular_file() -> None:
    with pytest.raises(ConfigError, match="not a regular file"):
        load_experiment_file("/dev/null")


def test_a_file_too_large(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    path.write_text(MINIMAL + "#" * MAX_EXPERIMENT_FILE_BYTES, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"too large \(the limit is 1 MiB\)"):
        load_experiment_file(path)


def test_only_comments_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "comments.yaml"
    path.write_text("# nothing here\n\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="empty"):
        load_experiment_file(path)


def test_the_guide_experiment_loads() -> None:
    exp = load_experiment_file(QUICK)
    assert exp.experiment_id == "quick-test"
    assert exp.duration_seconds == 5
    assert [f.fault_type for f in exp.faults] == [FaultType.latency, FaultType.error]
    assert exp.faults[1].error_message == "Simulated upstream failure"


def test_json_and_yaml_give_the_same_experiment(tmp_path: Path) -> None:
    exp = load_experiment_file(QUICK)
    as_json = tmp_path / "quick.json"
    as_json.write_text(exp.model_dump_json(), encoding="utf-8")
    assert load_experiment_file(as_json) == exp


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("exp.txt", MINIMAL),
        ("exp", '{"experiment_id": "ok", "name": "ok", "duration_seconds": 5}'),
        ("exp.conf", "  \n[1, 2]"),
    ],
)
def test_content_sniffing_without_a_known_suffix(tmp_path: Path, name: str, text: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    if text.strip().startswith("["):
        with pytest.raises(ConfigError, match="not a list"):
            load_experiment_file(path)
    else:
        assert load_experiment_file(path).experiment_id == "ok"


def test_a_json_suffix_is_parsed_as_json(tmp_path: Path) -> None:
    path = tmp_path / "exp.json"
    path.write_text(MINIMAL, encoding="utf-8")
    with pytest.raises(ConfigError, match="invalid JSON"):
        load_experiment_file(path)


def test_a_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + MINIMAL.encode())
    assert load_experiment_file(path).name == "ok"


def test_a_few_aliases_and_merge_keys_are_fine(tmp_path: Path) -> None:
    path = tmp_path / "anchors.yaml"
    path.write_text(
        MINIMAL
        + "target_components: &comps [llm, tools]\n"
        + "faults:\n"
        + "  - &slow {fault_type: latency, duration_ms: 10, affected_components: *comps}\n"
        + "  - <<: *slow\n"
        + "    duration_ms: 20\n",
        encoding="utf-8",
    )
    exp = load_experiment_file(path)
    assert [f.duration_ms for f in exp.faults] == [10, 20]
    assert exp.faults[1].affected_components == ("llm", "tools")


def test_too_many_aliases(tmp_path: Path) -> None:
    path = tmp_path / "aliases.yaml"
    refs = ", ".join(["*c"] * 101)
    path.write_text(MINIMAL + f"x: &c tools\ntarget_components: [{refs}]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="too many aliases"):
        load_experiment_file(path)


def test_duplicate_json_key(tmp_path: Path) -> None:
    path = tmp_path / "dup.json"
    path.write_text('{"experiment_id": "a", "experiment_id": "b"}', encoding="utf-8")
    with pytest.raises(ConfigError, match="duplicate key 'experiment_id'"):
        load_experiment_file(path)


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_an_integer_too_long_to_build(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"big{suffix}"
    digits = "9" * 5000
    if suffix == ".json":
        path.write_text(f'{{"experiment_id": "a", "seed": {digits}}}', encoding="utf-8")
    else:
        path.write_text(MINIMAL + f"seed: {digits}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_experiment_file(path)
    assert all(line.startswith(str(path)) for line in str(info.value).splitlines())


def test_an_impossible_date(tmp_path: Path) -> None:
    path = tmp_path / "date.yaml"
    path.write_text(MINIMAL + "description: 2024-13-45\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="invalid value"):
        load_experiment_file(path)


def test_several_problems_are_each_listed_on_a_line(tmp_path: Path) -> None:
    path = tmp_path / "many.yaml"
    path.write_text("experiment_id: ''\nduration_seconds: -1\nbogus: 1\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_experiment_file(path)
    lines = str(info.value).splitlines()
    assert [line.removeprefix(f"{path}:") for line in lines] == [
        "1:1: name: required field is missing",
        "1:16: experiment_id: string should have at least 1 character (got '')",
        "2:19: duration_seconds: input should be greater than 0 (got -1)",
        "3:1: bogus: unknown field (allowed: baseline_seconds, description, duration_seconds, "
        "experiment_id, faults, name, repeat, require_faults_fired, scope, seed, steady_state, "
        "stop_conditions, target_components, tick_seconds, trace_calls, workload)",
    ]
    assert len(info.value.more) == 3


def test_more_than_twenty_problems_are_counted(tmp_path: Path) -> None:
    path = tmp_path / "lots.yaml"
    path.write_text(
        "experiment_id: a\nname: b\nduration_seconds: 1\n"
        + "".join(f"bogus{i}: 1\n" for i in range(25)),
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as info:
        load_experiment_file(path)
    lines = str(info.value).splitlines()
    assert len(lines) == 21
    assert lines[-1] == f"{path}: ... and 5 more problem(s)"


def test_unknown_top_level_field_lists_close_match(tmp_path: Path) -> None:
    path = tmp_path / "typo.yaml"
    path.write_text(MINIMAL + "duration_secnds: 3\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="did you mean 'duration_seconds'"):
        load_experiment_file(path)


def test_pyyaml_missing_is_said_plainly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "yaml", None)
    with pytest.raises(ConfigError, match="PyYAML required for YAML files"):
        load_experiment_file(QUICK)
    as_json = tmp_path / "quick.json"
    as_json.write_text('{"experiment_id": "a", "name": "b", "duration_seconds": 1}', "utf-8")
    assert load_experiment_file(as_json).experiment_id == "a"


def _result() -> ExperimentResult:
    return ExperimentResult.model_validate(
        {
            "experiment_id": "r",
            "name": "Result",
            "status": "completed",
            "start_time": "2024-01-15T10:00:00+00:00",
            "end_time": "2024-01-15T10:00:05.012345+00:00",
            "summary": {"total_faults_fired": 5, "faults_by_type": {"latency": 3, "error": 1}},
            "observations": [
                {
                    "component": "tool_executor",
                    "event": "call",
                    "timestamp": "2024-01-15T10:00:01+00:00",
                    "details": {"duration_ms": 1.5},
                }
            ],
        }
    )


def test_a_saved_result_round_trips(tmp_path: Path) -> None:
    result = _result()
    path = tmp_path / "result.json"
    path.write_text(result.model_dump_json(indent=2), encoding="utf-8")
    loaded = load_result_file(path)
    assert loaded == result
    assert loaded.status is ExperimentStatus.completed


def test_a_bad_result_names_the_field(tmp_path: Path) -> None:
    data = json.loads(_result().model_dump_json())
    data["status"] = "exploded"
    path = tmp_path / "result.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"result.json: status: input should be"):
        load_result_file(path)


def test_an_experiment_is_not_a_result() -> None:
    with pytest.raises(ConfigError, match="status: required field is missing"):
        load_result_file(QUICK)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.binary(max_size=300),
        st.text(max_size=300).map(lambda t: t.encode("utf-8")),
        st.lists(
            st.sampled_from(
                [
                    "experiment_id: a\n",
                    "name: b\n",
                    "duration_seconds: 5\n",
                    "faults:\n",
                    "  - fault_type: latency\n",
                    "    probability: 2\n",
                    "&a [*a]\n",
                    "- x\n",
                    "!!python/name:os.system\n",
                    "{",
                    "}",
                    ": :",
                    "\t",
                    "<<: *x\n",
                    "? [a]\n",
                ]
            ),
            max_size=12,
        ).map(lambda parts: "".join(parts).encode("utf-8")),
    ),
    st.sampled_from([".yaml", ".json", ".txt"]),
)
def test_garbage_only_ever_raises_config_error(data: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"fuzz{suffix}"
        path.write_bytes(data)
        message = ""
        try:
            exp = load_experiment_file(path)
        except ConfigError as exc:
            message = str(exc)
        else:
            assert isinstance(exp, ChaosExperiment)
            return
    # One line per problem, each naming the file.
    assert all(line.startswith(str(path)) for line in message.splitlines())
    assert message.startswith(str(path))
