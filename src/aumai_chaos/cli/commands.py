"""The ``aumai-chaos`` command: run, proxy (``_proxy``), validate, report and init.

Diagnostics and progress go to stderr; stdout carries only what was asked for (the report, or with
``--json-output`` exactly one JSON document). Exit codes: 0 completed (with a ``steady_state``:
verdict ``passed``), 1 failed, stopped by a stop condition, or (with a ``steady_state``) deviated
or inconclusive, 2 bad input, 3 baseline not met, 130 interrupted.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from enum import StrEnum
from typing import Annotated, Any

import typer

from aumai_chaos._engine.registry import registered_components
from aumai_chaos._version import __version__
from aumai_chaos.cli import _report
from aumai_chaos.cli._deliver import (
    EXIT_BAD_INPUT,
    Reporting,
    report_run,
    reporting_options,
    write_stdout,
)
from aumai_chaos.cli._options import ExperimentFile, Repeat, Seed
from aumai_chaos.cli._proxy import proxy
from aumai_chaos.cli._support import (
    Interrupts,
    Progress,
    check_output_path,
    cli_errors,
    ensure_cwd_on_path,
    warn_if_disabled,
    warning,
    write_atomic,
)
from aumai_chaos.cli._template import STARTER_EXPERIMENT
from aumai_chaos.cli._usage import OneLineUsageGroup
from aumai_chaos.errors import ConfigError, WorkloadError
from aumai_chaos.experiments._verdict import cannot_act
from aumai_chaos.experiments.files import load_experiment_file, load_result_file
from aumai_chaos.experiments.models import (
    ChaosExperiment,
    ExperimentResult,
    WorkloadConfig,
)

__all__ = ["app", "main"]

app = typer.Typer(
    name="aumai-chaos",
    help="Chaos engineering for AI agents: run fault-injection experiments and see every fault "
    "in OpenTelemetry.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    cls=OneLineUsageGroup,
)


class ReportFormat(StrEnum):
    text = "text"
    json = "json"
    markdown = "markdown"
    html = "html"


def _version(value: bool) -> None:
    if value:
        typer.echo(f"aumai-chaos, version {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="Show the version and exit.", is_eager=True, callback=_version
        ),
    ] = False,
) -> None:
    """Chaos engineering for AI agents: run fault-injection experiments and see every fault in
    OpenTelemetry."""


# -- run ----------------------------------------------------------------------------------------


def _apply_overrides(
    experiment: ChaosExperiment, seed: int | None, workload: str | None
) -> ChaosExperiment:
    updates: dict[str, Any] = {}
    if seed is not None:
        updates["seed"] = seed
    if workload is not None:
        try:
            target = WorkloadConfig(target=workload).target
        except ValueError as exc:
            raise ConfigError(
                f"--workload: must look like 'package.module:function', got {workload!r}"
            ) from exc
        current = experiment.workload
        updates["workload"] = (
            current.model_copy(update={"target": target})
            if current is not None
            else WorkloadConfig(target=target)
        )
    return experiment.model_copy(update=updates) if updates else experiment


def _check_workload(
    experiment: ChaosExperiment, source: str, from_flag: bool = False
) -> str | None:
    """Import the workload and check that it takes no arguments; returns its target. A
    problem is blamed on ``--workload`` when the flag named it, else on the file."""
    if experiment.workload is None:
        if experiment.baseline_seconds is not None:
            raise ConfigError(
                "needs a workload to measure (set workload, or pass --workload)",
                source=source,
                field="baseline_seconds",
            )
        return None
    from aumai_chaos.experiments.workload import load_workload

    ensure_cwd_on_path()
    target = experiment.workload.target
    try:
        load_workload(target)
    except WorkloadError as exc:
        if from_flag:
            raise ConfigError(str(exc), field="--workload") from exc
        raise ConfigError(str(exc), source=source, field="workload") from exc
    return target


def _execute(
    experiment: ChaosExperiment, telemetry: Any, interrupts: Interrupts
) -> ExperimentResult:
    """Run in a worker thread so that signals reach the main thread promptly."""
    from aumai_chaos.experiments.scheduler import ExperimentScheduler

    scheduler = ExperimentScheduler(
        tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider
    )
    exp_id = scheduler.schedule(experiment)
    progress = Progress(sys.stderr)
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["result"] = scheduler.run(exp_id, progress=progress)
        except BaseException as exc:
            outcome["error"] = exc

    interrupts.on_first = lambda: scheduler.abort(exp_id)
    if interrupts.count:
        scheduler.abort(exp_id)
    # Whatever the workload prints must not corrupt stdout (--json-output).
    with contextlib.redirect_stdout(sys.stderr):
        worker = threading.Thread(target=work, name="aumai-chaos-run", daemon=True)
        worker.start()
        while worker.is_alive():
            worker.join(0.2)
    progress.clear()
    if "error" in outcome:
        raise outcome["error"]
    result: ExperimentResult = outcome["result"]
    return result


@app.command()
@reporting_options
def run(
    experiment: ExperimentFile,
    seed: Seed = None,
    workload: Annotated[
        str | None,
        typer.Option(metavar="MODULE:FUNCTION", help="The code to exercise (overrides the file)."),
    ] = None,
    repeat: Repeat = None,
    *,
    reporting: Reporting,
) -> None:
    """Run an experiment and print its report."""
    with cli_errors():
        exp = _apply_overrides(load_experiment_file(experiment), seed, workload)
        _check_workload(exp, experiment, from_flag=workload is not None)
        from aumai_chaos.experiments.trials import check_repeat

        trials = exp.repeat if repeat is None else repeat
        check_repeat(exp, trials, source=None if repeat is not None else experiment)

        def body(telemetry: Any, interrupts: Interrupts) -> tuple[ExperimentResult, Any]:
            _announce(exp, telemetry)
            warn_if_disabled("calls")
            if trials > 1:
                from aumai_chaos.experiments.trials import run_trials

                result = run_trials(
                    exp,
                    lambda one: _execute(one, telemetry, interrupts),
                    trials,
                    should_stop=lambda: interrupts.count > 0,
                )
            else:
                result = _execute(exp, telemetry, interrupts)
            sys.stderr.write("\n")
            sys.stderr.flush()
            return result, exp

        code = report_run(reporting, body)
    raise typer.Exit(code)


def _announce(exp: ChaosExperiment, telemetry: Any) -> None:
    if telemetry.prometheus is not None:
        sys.stderr.write(f"Serving Prometheus metrics on {telemetry.prometheus.url}\n")
    sys.stderr.write(
        f"Running experiment '{exp.name}' (id={exp.experiment_id}) "
        f"for {exp.duration_seconds:g}s...\n"
    )
    sys.stderr.flush()


# -- validate, report, init ---------------------------------------------------------------------


@app.command()
def validate(
    files: Annotated[
        list[str], typer.Argument(metavar="FILE...", help="Experiment files to check.")
    ],
) -> None:
    """Check experiment files without running them."""
    from aumai_chaos.cli._support import error

    bad = 0
    with cli_errors():
        for path in files:
            try:
                exp = load_experiment_file(path)
            except ConfigError as exc:
                for line in str(exc).splitlines():  # one line per problem
                    error(line)
                bad += 1
                continue
            try:
                # Import the workload as run would, so that what validate accepts run accepts.
                target = _check_workload(exp, path)
            except ConfigError as exc:
                error(str(exc))
                bad += 1
                continue
            decorated = set(registered_components())
            for note in cannot_act(exp, decorated):  # a warning: see cannot_act
                warning(f"{path}: {note}")
            faults = len(exp.faults)
            checked = f", workload {target!r} imports and takes no arguments" if target else ""
            typer.echo(
                f"{path}: ok (experiment '{exp.experiment_id}', {faults} "
                f"fault{'s' if faults != 1 else ''}, {exp.duration_seconds:g}s{checked})"
            )
    if bad:
        raise typer.Exit(EXIT_BAD_INPUT)


@app.command()
def report(
    result_file: Annotated[
        str, typer.Argument(metavar="RESULT.json", help="A result saved by run --output.")
    ],
    fmt: Annotated[
        ReportFormat, typer.Option("--format", "-f", help="Output format.")
    ] = ReportFormat.text,
    output: Annotated[
        str | None,
        typer.Option("--output", "-o", metavar="FILE", help="Write the report here, not stdout."),
    ] = None,
) -> None:
    """Render a saved result as text, JSON, Markdown or a self-contained HTML page."""
    with cli_errors():
        result = load_result_file(result_file)
        if output is not None:
            check_output_path(output)
        rendered = _report.render(result, fmt.value)
        if output is None:
            write_stdout(rendered)
            return
        write_atomic(output, rendered)
        sys.stderr.write(f"Wrote {output}\n")


@app.command()
def init(
    path: Annotated[
        str, typer.Argument(metavar="[PATH]", help="Where to write it ('-' for stdout).")
    ] = "experiment.yaml",
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented starter experiment."""
    with cli_errors():
        if path == "-":
            write_stdout(STARTER_EXPERIMENT)
            return
        if os.path.isdir(path):
            raise ConfigError("is a directory", source=path)
        if os.path.lexists(path) and not force:
            raise ConfigError("already exists; use --force to overwrite it", source=path)
        check_output_path(path, option="init")
        write_atomic(path, STARTER_EXPERIMENT)
        sys.stderr.write(
            f"Wrote {path}. Check it with `aumai-chaos validate {path}`, "
            f"run it with `aumai-chaos run --experiment {path}`.\n"
        )


app.command(name="proxy")(proxy)


def main() -> None:
    """Entry point of the ``aumai-chaos`` command."""
    ensure_cwd_on_path()
    app(prog_name="aumai-chaos")
