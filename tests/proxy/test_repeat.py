"""``aumai-chaos proxy --repeat N``: N trials of the duration each on one listening server,
seeds ``seed + i``, combined as ``run --repeat`` combines them (``summary.trials``, the
verdict of the trials and its exit code)."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.cli.support import run_cli
from tests.proxy.support import NO_FAULT, proxy, result_of, write_experiment
from tests.proxy.upstream import fixed_upstream

ONE_503_PER_TRIAL = """\
experiment_id: proxy-trials
name: Proxy trials
duration_seconds: {duration}
faults:
  - fault_type: http_error
    status_code: 503
    times: 1
steady_state:
  - component: 127.0.0.1
    max_error_rate: 0.0
"""


def test_three_trials_of_one_second(tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    exp = write_experiment(tmp_path, ONE_503_PER_TRIAL, duration=1)
    statuses: list[int] = []
    with (
        fixed_upstream() as upstream,
        proxy(exp, upstream.url, output=out, extra=("--repeat", "3", "--seed", "40")) as run,
        httpx.Client(timeout=10) as client,
    ):
        for _ in range(2000):  # bounded: the three trials take about 3 s
            if run.process.poll() is not None:
                break
            try:
                statuses.append(client.get(run.url + "/v1/json").status_code)
            except httpx.TransportError:  # the proxy stopped after the last trial
                break
        code = run.wait(60)
    assert code == 1, run.stderr  # every trial deviated: the trials' verdict, as run's
    result = result_of(out)
    trials = result["summary"]["trials"]
    assert [t["seed"] for t in trials["trials"]] == [40, 41, 42]
    assert [t["verdict"] for t in trials["trials"]] == ["deviated"] * 3
    assert [t["total_faults_fired"] for t in trials["trials"]] == [1, 1, 1]
    assert trials["passed"] == 0
    assert trials["pass_hat_k"] == [0.0, 0.0, 0.0]
    assert result["verdict"] == "deviated"
    assert statuses.count(503) == 3  # times: 1 counts per trial
    assert statuses.count(200) == len(statuses) - 3
    assert run.stderr.count("aumai-chaos proxy listening on") == 1  # one server for all


def test_trials_that_pass(tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    exp = write_experiment(tmp_path, NO_FAULT, duration=1)
    with (
        fixed_upstream() as upstream,
        proxy(exp, upstream.url, output=out, extra=("--repeat", "2")) as run,
    ):
        assert httpx.get(run.url + "/v1/json", timeout=10).status_code == 200
        code = run.wait(60)
    assert code == 0, run.stderr
    trials = result_of(out)["summary"]["trials"]
    assert trials["passed"] == 2
    assert trials["pass_hat_k"] == [1.0, 1.0]


def test_a_repeat_out_of_range_is_one_line(tmp_path: Path) -> None:
    exp = write_experiment(tmp_path, NO_FAULT)
    done = run_cli(
        "proxy", "--experiment", str(exp), "--upstream", "http://127.0.0.1:9", "--repeat", "0"
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "--repeat" in lines[0]
    assert "between 1 and 1000" in lines[0]
