"""What ``run`` and ``proxy`` do around a run: export its telemetry while it runs, handle
Ctrl-C/SIGTERM, and with its result print it, write the files, serve the last metrics, and the
exit code (see ``commands``' docstring for the codes)."""

from __future__ import annotations

import contextlib
import functools
import inspect
import os
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aumai_chaos.cli import _report
from aumai_chaos.cli._options import (
    JsonOutput,
    JunitXml,
    OtlpEndpoint,
    OtlpProtocolOption,
    Output,
    PrometheusHost,
    PrometheusLinger,
    PrometheusPort,
    ServiceName,
)
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
    "reporting_options",
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
    reporting: Reporting,
) -> ConfigError | None:
    """Write ``--output`` and ``--junit-xml``, print the report, serve the final metrics; the
    first file that could not be written (the report is printed all the same)."""
    output, junit_xml = reporting.output, reporting.junit_xml
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
    rendered = _report.render_json if reporting.json_output else _report.render_text
    write_stdout(rendered(result))
    _linger(telemetry, reporting.prometheus_linger, interrupts.stop)
    return write_error


@dataclass(frozen=True)
class Reporting:
    """How a run is exported while it runs and reported when it ends: the options ``run``
    and ``proxy`` share (:func:`reporting_options`)."""

    json_output: bool
    output: str | None
    junit_xml: str | None
    prometheus_linger: float
    #: The keywords of ``_otel_setup.setup_telemetry``: the OTLP and Prometheus options.
    telemetry: Mapping[str, Any]

    def check_paths(self) -> None:
        """Refuse an ``--output`` or ``--junit-xml`` that cannot be written, before the run."""
        if self.output is not None:
            check_output_path(self.output)
        if self.junit_xml is not None:
            check_output_path(self.junit_xml, option="--junit-xml")


def _option(name: str, annotation: Any, default: Any) -> inspect.Parameter:
    return inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation
    )


#: The options that become a :class:`Reporting`, in the order ``--help`` lists them.
_OPTIONS = (
    _option("json_output", JsonOutput, False),
    _option("output", Output, None),
    _option("junit_xml", JunitXml, None),
    _option("otlp_endpoint", OtlpEndpoint, None),
    _option("otlp_protocol", OtlpProtocolOption, None),
    _option("service_name", ServiceName, None),
    _option("prometheus_port", PrometheusPort, None),
    _option("prometheus_host", PrometheusHost, "127.0.0.1"),
    _option("prometheus_linger", PrometheusLinger, 15.0),
)


def reporting_options(command: Callable[..., None]) -> Callable[..., None]:
    """``command``, whose last parameter is ``reporting: Reporting``, as a Typer command that
    takes the reporting options in its place (``--json-output`` ... ``--prometheus-linger``,
    declared once in ``cli._options``) and gives them to it as one :class:`Reporting`."""
    params = list(inspect.signature(command, eval_str=True).parameters.values())
    if not params or params[-1].name != "reporting":
        raise TypeError(f"{command.__name__}: the last parameter must be 'reporting'")
    params[-1:] = _OPTIONS

    @functools.wraps(command)
    def with_options(**kwargs: Any) -> None:
        options = {p.name: kwargs.pop(p.name) for p in _OPTIONS}
        protocol = options.pop("otlp_protocol")
        reporting = Reporting(
            json_output=options.pop("json_output"),
            output=options.pop("output"),
            junit_xml=options.pop("junit_xml"),
            prometheus_linger=options.pop("prometheus_linger"),
            telemetry={**options, "otlp_protocol": None if protocol is None else protocol.value},
        )
        command(**kwargs, reporting=reporting)

    with_options.__signature__ = inspect.Signature(params, return_annotation=None)  # type: ignore[attr-defined]
    with_options.__annotations__ = {p.name: p.annotation for p in params} | {"return": None}
    return with_options


#: A command's run: given the telemetry and the interrupts, the result and the experiment run.
RunBody = Callable[[Any, Interrupts], tuple[ExperimentResult, ChaosExperiment]]


def report_run(reporting: Reporting, body: RunBody) -> int:
    """Check where the files go, set up the telemetry, run ``body`` with Ctrl-C/SIGTERM
    handled, deliver its result and flush the telemetry; the exit code. A file that could not
    be written is raised (its ``ConfigError``) once everything else is done."""
    from aumai_chaos.cli._otel_setup import install_globally, setup_telemetry

    reporting.check_paths()
    telemetry = setup_telemetry(**reporting.telemetry)
    write_error: ConfigError | None = None
    with Interrupts() as interrupts:
        try:
            install_globally(telemetry)
            result, exp = body(telemetry, interrupts)
            write_error = deliver(result, exp, telemetry, interrupts, reporting)
        finally:
            for line in telemetry.finish():
                warning(line)
    if write_error is not None:
        raise write_error
    return exit_code(result, exp, interrupts.count > 0)
