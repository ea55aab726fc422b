"""What ``run`` and ``proxy`` do around a run: export its telemetry while it runs, handle
Ctrl-C/SIGTERM, and with its result print it, write the files, serve the last metrics, and the
exit code (see ``commands``' docstring for the codes)."""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aumai_chaos.cli import _report
from aumai_chaos.cli._support import Interrupts, check_output_path, warning, write_atomic
from aumai_chaos.errors import ConfigError
from aumai_chaos.experiments.models import ChaosExperiment, ExperimentResult, ExperimentStatus
from aumai_chaos.experiments.steady_state import Verdict

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_BASELINE_NOT_MET",
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "Reporting",
    "deliver",
    "exit_code",
    "report_run",
    "write_stdout",
]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_BASELINE_NOT_MET = 3
EXIT_INTERRUPTED = 130


def exit_code(result: ExperimentResult, exp: ChaosExperiment, interrupted: bool) -> int:
    """0 passed/completed, 1 deviated/inconclusive/failed/stopped, 3 baseline not met, 130 Ctrl-C.

    The verdict decides only for an experiment that states a hypothesis (``steady_state``).
    Without one the exit code follows the status, as in the user's guide, so that a bare
    experiment in which a rare fault happened not to fire still exits 0 (its verdict,
    ``inconclusive``, is printed all the same).
    """
    if interrupted:
        return EXIT_INTERRUPTED
    if result.stopped_by is not None:
        return EXIT_FAILED
    if (exp.steady_state or result.summary.trials is not None) and result.verdict is not None:
        if result.verdict is Verdict.passed:
            return EXIT_OK
        if result.verdict is Verdict.baseline_not_met:
            return EXIT_BASELINE_NOT_MET
        return EXIT_FAILED
    if result.status is ExperimentStatus.completed:
        return EXIT_OK
    if result.status is ExperimentStatus.aborted:
        return EXIT_INTERRUPTED
    return EXIT_FAILED


def write_stdout(text: str) -> None:
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (| head): stop writing, and let exit not complain either.
        with contextlib.suppress(OSError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())


def _linger(telemetry: Any, seconds: float, stop: threading.Event | None) -> None:
    server = telemetry.prometheus
    if server is None:
        return
    server.mark_run_ended()
    if seconds <= 0:
        return
    sys.stderr.write(
        f"Serving the final metrics on {server.url} until they are scraped "
        f"(at most {seconds:g}s)...\n"
    )
    sys.stderr.flush()
    if not server.wait_final_scrape(seconds, stop) and not (stop is not None and stop.is_set()):
        warning(f"no Prometheus scrape of {server.url} within {seconds:g}s after the run")


def deliver(
    result: ExperimentResult,
    exp: ChaosExperiment,
    telemetry: Any,
    interrupts: Any,
    *,
    output: str | None,
    junit_xml: str | None,
    json_output: bool,
    prometheus_linger: float,
) -> ConfigError | None:
    """Write ``--output`` and ``--junit-xml``, print the report, serve the final metrics; the
    first file that could not be written (the report is printed all the same)."""
    write_error: ConfigError | None = None
    if output is not None:
        try:
            write_atomic(output, _report.render_json(result))
        except ConfigError as exc:
            write_error = exc
    if junit_xml is not None:
        from aumai_chaos.cli._junit import render_junit

        try:
            write_atomic(junit_xml, render_junit(result, exp))
        except ConfigError as exc:
            write_error = write_error or exc
    for note in result.summary.notes:
        if "was never called" in str(note):
            warning(str(note))
    rendered = _report.render_json if json_output else _report.render_text
    write_stdout(rendered(result))
    _linger(telemetry, prometheus_linger, interrupts.stop)
    return write_error


@dataclass(frozen=True)
class Reporting:
    """How a run is exported while it runs and reported when it ends: the options ``run``
    and ``proxy`` share (``cli._options``)."""

    json_output: bool
    output: str | None
    junit_xml: str | None
    otlp_endpoint: str | None
    otlp_protocol: str | None
    service_name: str | None
    prometheus_host: str
    prometheus_port: int | None
    prometheus_linger: float

    def check_paths(self) -> None:
        """Refuse an ``--output`` or ``--junit-xml`` that cannot be written, before the run."""
        if self.output is not None:
            check_output_path(self.output)
        if self.junit_xml is not None:
            check_output_path(self.junit_xml, option="--junit-xml")


#: A command's run: given the telemetry and the interrupts, the result and the experiment run.
RunBody = Callable[[Any, Interrupts], tuple[ExperimentResult, ChaosExperiment]]


def report_run(reporting: Reporting, body: RunBody) -> int:
    """Set up the telemetry, run ``body`` with Ctrl-C/SIGTERM handled, deliver its result and
    flush the telemetry; the exit code. A file that could not be written is raised (its
    ``ConfigError``) once everything else is done."""
    from aumai_chaos.cli._otel_setup import install_globally, setup_telemetry

    telemetry = setup_telemetry(
        otlp_endpoint=reporting.otlp_endpoint,
        otlp_protocol=reporting.otlp_protocol,
        service_name=reporting.service_name,
        prometheus_host=reporting.prometheus_host,
        prometheus_port=reporting.prometheus_port,
    )
    write_error: ConfigError | None = None
    with Interrupts() as interrupts:
        try:
            install_globally(telemetry)
            result, exp = body(telemetry, interrupts)
            write_error = deliver(
                result,
                exp,
                telemetry,
                interrupts,
                output=reporting.output,
                junit_xml=reporting.junit_xml,
                json_output=reporting.json_output,
                prometheus_linger=reporting.prometheus_linger,
            )
        finally:
            for line in telemetry.finish():
                warning(line)
    if write_error is not None:
        raise write_error
    return exit_code(result, exp, interrupts.count > 0)
