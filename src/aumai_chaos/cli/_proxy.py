"""``aumai-chaos proxy``: serve a reverse proxy that applies an experiment to what passes.

The run is the experiment's, as with ``run``: the proxied requests are its component calls, the
report, ``--output``, ``--junit-xml``, telemetry and exit codes are the same. It ends when the
duration is up (the file's, or ``--duration``), a stop condition is crossed, or on
Ctrl-C/SIGTERM (exit 130, the result still written).
"""

from __future__ import annotations

import ipaddress
import sys
from collections.abc import Callable
from typing import Annotated, Any

import typer

from aumai_chaos.cli._deliver import Reporting, report_run, reporting_options
from aumai_chaos.cli._options import ExperimentFile, Seed
from aumai_chaos.cli._support import (
    Interrupts,
    Progress,
    cli_errors,
    warn_if_disabled,
    warning,
)
from aumai_chaos.errors import ConfigError
from aumai_chaos.experiments.files import load_experiment_file

__all__ = ["LISTENING", "proxy"]

#: The line scripts wait for on stderr: ``LISTENING.format(url=..., upstreams=...)``.
LISTENING = "aumai-chaos proxy listening on {url} -> {upstreams}"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _classifiers() -> list[Any]:
    """The request classifiers that name components from more than the URL: MCP's JSON-RPC
    requests over streamable HTTP (``tools/call`` is ``mcp.tool.<name>``)."""
    from aumai_chaos.proxy._mcp import McpClassifier

    return [McpClassifier()]


@reporting_options
def proxy(
    experiment: ExperimentFile,
    upstream: Annotated[
        list[str],
        typer.Option(
            "--upstream",
            "-u",
            metavar="URL|NAME=URL",
            help="Where requests go: one URL, and/or NAME=URL reached under /NAME/ (repeat).",
            show_default=False,
        ),
    ],
    host: Annotated[
        str, typer.Option(help="Address to listen on (anything but loopback is warned about).")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="Port to listen on (0: a free one).")
    ] = 0,
    duration: Annotated[
        float | None,
        typer.Option(min=0.001, max=7 * 24 * 3600, help="Seconds to serve (default: the file's)."),
    ] = None,
    seed: Seed = None,
    repeat: Annotated[
        int | None,
        typer.Option(
            metavar="N",
            help="Serve N trials of the duration each, seeds seed+i: pass rate and pass^k "
            "(overrides the file).",
            show_default=False,
        ),
    ] = None,
    *,
    reporting: Reporting,
) -> None:
    """Serve a reverse proxy that applies an experiment's faults to the requests it passes on."""
    with cli_errors():
        try:
            from aumai_chaos import proxy as px
        except ImportError as exc:
            raise ConfigError(
                f"needs the proxy extra ({exc.name} is missing): pip install 'aumai-chaos[proxy]'"
            ) from None
        upstreams = px.parse_upstreams(upstream)
        classifiers = _classifiers()
        exp = load_experiment_file(experiment)
        if seed is not None:
            exp = exp.model_copy(update={"seed": seed})
        exp = px.with_duration(exp, duration)
        exp = px.check_for_proxy(exp, experiment, upstreams, classifiers, warn=warning)
        from aumai_chaos.experiments.trials import check_repeat, run_trials

        trials = exp.repeat if repeat is None else repeat
        source = None if repeat is not None else experiment
        check_repeat(exp, trials, source=source, needs_workload=False)

        def body(telemetry: Any, interrupts: Interrupts) -> tuple[Any, Any]:
            server = px.Proxy(
                upstreams,
                host=host,
                port=port,
                classifiers=classifiers,
                tracer_provider=telemetry.tracer_provider,
            )
            if not _is_loopback(host):
                warning(
                    f"listening on {host}, not loopback: whoever reaches this port can send "
                    "requests to the upstreams through the proxy"
                )
            warn_if_disabled("requests")
            trial = _Trials(server, telemetry, upstreams, interrupts)
            result = trial.serve(
                lambda: run_trials(
                    exp,
                    trial.run_one,
                    trials,
                    should_stop=lambda: interrupts.count > 0 or trial.error is not None,
                    needs_workload=False,
                )
            )
            return result, exp

        code = report_run(reporting, body)
    raise typer.Exit(code)


class _Trials:
    """The server, started once and serving every trial (a client keeps its URL); each trial
    is one :class:`~aumai_chaos.proxy.ProxyRun` of the experiment's duration. Between two
    trials, requests pass through with no fault and are not counted."""

    def __init__(self, server: Any, telemetry: Any, upstreams: Any, interrupts: Any) -> None:
        self.server = server
        self.telemetry = telemetry
        self.upstreams = upstreams
        self.interrupts = interrupts
        self.started = False
        self.error: BaseException | None = None

    def serve(self, trials: Callable[[], Any]) -> Any:
        """Run ``trials`` (which calls :meth:`run_one`), then stop serving; their result."""
        if self.telemetry.prometheus is not None:
            sys.stderr.write(f"Serving Prometheus metrics on {self.telemetry.prometheus.url}\n")
        try:
            return trials()
        finally:
            self.server.stop()
            sys.stderr.write("\n")
            sys.stderr.flush()

    def run_one(self, exp: Any) -> Any:
        """One trial: route its faults, serve until it ends; its result."""
        from aumai_chaos import proxy as px

        run = px.ProxyRun(
            exp,
            tracer_provider=self.telemetry.tracer_provider,
            meter_provider=self.telemetry.meter_provider,
        )
        self.interrupts.on_first = run.abort
        sys.stderr.write(
            f"Running experiment '{exp.name}' (id={exp.experiment_id}) "
            f"for {exp.duration_seconds:g}s...\n"
        )
        run.start()
        error: BaseException | None = None
        try:
            if not self.started:
                self.server.start()
                self.started = True
                line = LISTENING.format(url=self.server.url, upstreams=self.upstreams.describe())
                sys.stderr.write(line + "\n")
                sys.stderr.flush()
            if self.interrupts.count:
                run.abort()
            progress = Progress(sys.stderr)
            run.wait(progress)
            progress.clear()
        except Exception as exc:
            error = exc
        finally:
            run.close()
        self.error = error
        return run.finish(error)
