"""Armed experiments in one process: selection by baggage, trust, expiry, results, the kill
switch. The cross-process behaviour is in tests/across_services/."""

from __future__ import annotations

import contextvars
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import aumai_chaos
from aumai_chaos import ChaosExperiment, propagation
from aumai_chaos._engine import selection
from aumai_chaos.experiments import arming
from tests.helpers import clean_env, fault_spans, points, run_python


@aumai_chaos.chaos_target("armed.tool")
def tool() -> str:
    return "ok"


def _config(exp_id: str = "armed-1", duration: float = 600.0) -> ChaosExperiment:
    return ChaosExperiment(
        experiment_id=exp_id,
        name="armed",
        duration_seconds=duration,
        tick_seconds=min(1.0, duration),
        faults=[{"fault_type": "error", "affected_components": ["armed.tool"]}],
    )


def _call(baggage: str | None = None) -> str:
    headers = {} if baggage is None else {"baggage": baggage}
    with propagation.attached(propagation.extract(headers)):
        try:
            return tool()
        except aumai_chaos.ChaosError:
            return "faulted"


@pytest.fixture(autouse=True)
def _nothing_left_armed() -> Iterator[None]:
    yield
    arming.stop_watching()
    for exp_id in aumai_chaos.armed():
        aumai_chaos.disarm(exp_id)


def test_only_calls_whose_baggage_names_the_armed_experiment_are_faulted(
    tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter
) -> None:
    assert aumai_chaos.arm(_config(), tracer_provider=tracer_provider) == ["armed-1"]
    before = selection.ignored().get("unknown", 0)
    outcomes = [
        _call(),
        _call("aumai.chaos.experiment=armed-1"),
        _call("aumai.chaos.experiment=other"),
        _call("k=v,aumai.chaos.experiment=armed-1"),
        _call(),
    ]
    assert outcomes == ["ok", "faulted", "ok", "faulted", "ok"]
    assert selection.ignored()["unknown"] - before == 1
    result = aumai_chaos.disarm("armed-1")
    assert result is not None
    assert result.summary.total_faults_fired == 2
    assert result.status == "completed"
    assert len(fault_spans(span_exporter)) == 2
    assert {s.attributes["chaos.experiment.id"] for s in fault_spans(span_exporter)} == {"armed-1"}
    assert _call("aumai.chaos.experiment=armed-1") == "ok"  # disarmed
    assert aumai_chaos.disarm("armed-1") is None


def test_the_kill_switch_stops_armed_faults_too() -> None:
    aumai_chaos.arm(_config())
    aumai_chaos.disable()
    assert _call("aumai.chaos.experiment=armed-1") == "ok"
    aumai_chaos.enable()
    assert _call("aumai.chaos.experiment=armed-1") == "faulted"


def test_an_id_armed_twice_is_refused() -> None:
    aumai_chaos.arm(_config())
    with pytest.raises(aumai_chaos.ExperimentStateError, match="already armed"):
        aumai_chaos.arm(_config())


def test_a_huge_or_malformed_baggage_header_is_ignored_and_counted() -> None:
    aumai_chaos.arm(_config())
    before = selection.ignored()
    assert _call("aumai.chaos.experiment=armed-1," + "x=y," * 3000) == "ok"
    assert _call("aumai.chaos.experiment") == "ok"
    assert _call("aumai.chaos.experiment=" + "a" * 300) == "ok"
    assert _call({"bad": "header"}.__repr__()) == "ok"
    after = selection.ignored()
    assert after["oversized"] - before.get("oversized", 0) == 2
    assert after["malformed"] - before.get("malformed", 0) == 1
    ctx = propagation.extract({b"baggage": b"aumai.chaos.experiment=armed-1"})
    assert propagation.experiment_id(ctx) == "armed-1"


def test_ignored_baggage_is_a_metric_on_the_armed_experiments_meter_provider(
    meter_provider: MeterProvider, metric_reader: InMemoryMetricReader
) -> None:
    aumai_chaos.arm(_config(), meter_provider=meter_provider)
    aumai_chaos.arm(_config("armed-2"), meter_provider=meter_provider)  # one instrument still
    before = selection.ignored()
    assert _call("aumai.chaos.experiment=nobody") == "ok"
    assert _call("aumai.chaos.experiment=nobody") == "ok"
    assert _call("aumai.chaos.experiment=" + "a" * 300) == "ok"
    found = points(metric_reader, "chaos.baggage.ignored")
    reported = {p.attributes["chaos.baggage.reason"]: p.value for p in found}
    assert len(found) == len(reported)  # one instrument: a second would report each reason twice
    assert reported["unknown"] - before.get("unknown", 0) == 2
    assert reported["oversized"] - before.get("oversized", 0) == 1
    assert reported == selection.ignored()


def test_an_armed_experiment_expires_and_writes_its_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUMAI_CHAOS_RESULTS_DIR", str(tmp_path))
    monkeypatch.setenv("OTEL_SERVICE_NAME", "svc/a")
    aumai_chaos.arm(_config("short", duration=0.3))
    assert _call("aumai.chaos.experiment=short") == "faulted"
    deadline = time.monotonic() + 10
    while aumai_chaos.armed():
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert _call("aumai.chaos.experiment=short") == "ok"
    [written] = list(tmp_path.iterdir())
    assert written.name == "short.svc_a.json"
    assert json.loads(written.read_text())["summary"]["total_faults_fired"] == 1


def test_arming_a_directory_and_a_bad_file(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(_config("a").model_dump_json(), encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not an experiment", encoding="utf-8")
    assert aumai_chaos.arm(tmp_path) == ["a"]
    bad = tmp_path / "bad.json"
    bad.write_text('{"experiment_id": "b"}', encoding="utf-8")
    with pytest.raises(aumai_chaos.ConfigError, match=r"bad\.json"):
        aumai_chaos.arm(bad)
    assert aumai_chaos.armed() == ["a"]


def test_scope_baggage_puts_the_entry_in_the_blocks_context(tmp_path: Path) -> None:
    with aumai_chaos.experiment(experiment_id="blk", scope="baggage"):
        assert propagation.experiment_id() == "blk"
        carrier: dict[str, str] = {}
        propagation.inject(carrier)
        assert "aumai.chaos.experiment=blk" in carrier["baggage"]
    assert propagation.experiment_id() is None
    path = tmp_path / "e.yaml"
    path.write_text(
        "experiment_id: from-file\nname: f\nduration_seconds: 5\nscope: baggage\n",
        encoding="utf-8",
    )
    with aumai_chaos.experiment(aumai_chaos.load_experiment_file(path)):
        assert propagation.experiment_id() == "from-file"
    with aumai_chaos.experiment(experiment_id="ctx"):
        assert propagation.experiment_id() is None


def test_a_block_with_scope_baggage_is_not_selectable_by_a_request() -> None:
    with aumai_chaos.experiment(
        experiment_id="blk2",
        scope="baggage",
        faults=[{"fault_type": "error", "affected_components": ["armed.tool"]}],
    ):
        # A request handled elsewhere (a fresh context) cannot select a block: only armed ones.
        assert contextvars.Context().run(_call, "aumai.chaos.experiment=blk2") == "ok"
        with pytest.raises(aumai_chaos.ChaosError):
            tool()


def test_baggage_off_and_arming_at_import(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(_config("env-armed").model_dump_json(), encoding="utf-8")
    code = """
        import sys
        import aumai_chaos
        from aumai_chaos import propagation
        from tests.experiments.test_arming import _call
        print(aumai_chaos.armed(), _call("aumai.chaos.experiment=env-armed"))
        assert not any(m.split(".")[0] in ("httpx", "openai", "anthropic") for m in sys.modules)
    """
    on = run_python(code, env={**clean_env(), "AUMAI_CHAOS_ARMED": str(tmp_path)})
    assert on.returncode == 0, on.stderr
    assert on.stdout.strip() == "['env-armed'] faulted"
    env = {**clean_env(), "AUMAI_CHAOS_ARMED": str(tmp_path), "AUMAI_CHAOS_BAGGAGE": "off"}
    off = run_python(code, env=env)
    assert off.returncode == 0, off.stderr
    assert off.stdout.strip() == "['env-armed'] ok"


def _wait_armed(ids: list[str]) -> None:
    deadline = time.monotonic() + 10
    while aumai_chaos.armed() != ids:
        assert time.monotonic() < deadline, aumai_chaos.armed()
        time.sleep(0.02)


def test_a_watched_file_is_followed_through_edits_and_removal(tmp_path: Path) -> None:
    path = tmp_path / "one.json"
    path.write_text(_config("first").model_dump_json(), encoding="utf-8")
    arming.watch(path)
    assert aumai_chaos.armed() == ["first"]  # armed before watch() returns
    tmp = tmp_path / ".one.tmp"
    tmp.write_text(_config("second").model_dump_json(), encoding="utf-8")
    tmp.replace(path)
    _wait_armed(["second"])
    assert _call("aumai.chaos.experiment=second") == "faulted"
    path.unlink()
    _wait_armed([])
