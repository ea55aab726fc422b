"""``make demo``: the agent against a misbehaving model provider, with its resilience and without.

``python -m examples.agent_openai.demo [--seed N] [--output-dir DIR] [--otlp-endpoint URL]
[--experiment FILE]...``:

1. starts :class:`aumai_chaos.testing.ProviderServer`, the scripted model, on loopback;
2. points the openai SDK at it, as any deployment does: ``OPENAI_BASE_URL`` and a dummy
   ``OPENAI_API_KEY``;
3. calls :func:`aumai_chaos.transport.instrument` once: from then on every httpx and httpx2
   client in the process, the ones the SDK builds included, goes through aumai-chaos. The
   agent's code does not change;
4. runs ``aumai-chaos run --experiment examples/experiments/demo-robust.yaml --seed N``, then
   ``demo-fragile.yaml``, in this process;
5. prints both verdicts and how each agent recovered from each fault (docs/recovery.md), and
   stops the server.

No network, no API key, no collector. The exit code is 0 when the robust agent passed and the
fragile one deviated, which is what the demo is meant to show. ``--experiment FILE`` runs your
own experiment files against the same server instead (each is then meant to pass, unless it
is named like one of the demo's).

With ``--otlp-endpoint`` (e.g. Arize Phoenix's ``http://127.0.0.1:6006``) the traces of both
runs go there over OTLP/HTTP: this process is the application, so it sets one tracer provider
for the agent's spans, the openai SDK's GenAI spans (``opentelemetry-instrumentation-openai-v2``)
and aumai-chaos's, and the command line uses it.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from aumai_chaos import load_result_file
from aumai_chaos.cli import app
from aumai_chaos.testing import ProviderServer
from aumai_chaos.transport import instrument, uninstrument

__all__ = ["EXPERIMENTS", "main"]

HERE = Path(__file__).resolve().parent
#: The experiments, and the verdict each is meant to end with.
EXPERIMENTS = (
    (HERE.parent / "experiments" / "demo-robust.yaml", "passed"),
    (HERE.parent / "experiments" / "demo-fragile.yaml", "deviated"),
)


def _run_cli(experiment: Path, seed: int, output: Path) -> int:
    """``aumai-chaos run --experiment ... --seed ...``, in this process; its exit code."""
    shown = os.path.relpath(experiment)
    sys.stderr.write(f"\n$ aumai-chaos run --experiment {shown} --seed {seed}\n")
    args = ["run", "--experiment", shown, "--seed", str(seed), "--output", str(output)]
    code = app(args, prog_name="aumai-chaos", standalone_mode=False)
    return int(code or 0)


def _story(output: Path) -> list[str]:
    """How the agent coped with each kind of fault, in the words of docs/recovery.md."""
    if not output.exists():
        return []
    lines = []
    for row in load_result_file(str(output)).summary.recovery:
        how = ", ".join(f"{name} {n}" for name, n in row.mechanisms.items() if n)
        said = f"{row.recovered} of {row.fired} recovered" + (f" ({how})" if how else "")
        if row.propagated:
            said += f", {row.propagated} propagated"
        lines.append(f"{row.fault_type} on {row.component}: {said}")
    return lines


def _verdict(output: Path, code: int) -> tuple[str, str]:
    """The verdict in the result file, and what to say of it: the objectives that failed."""
    if not output.exists():
        return "error", f"did not run (exit code {code})"
    result = load_result_file(str(output))
    verdict = result.verdict.value if result.verdict is not None else result.status.value
    failed = [
        f"{o.component} {o.limit} {o.threshold:g} (observed {o.observed:.3g})"
        for o in result.objectives
        if not o.passed
    ]
    return verdict, verdict + (": failed " + "; ".join(failed) if failed else "")


@contextmanager
def _traces_to(endpoint: str | None) -> Iterator[None]:
    """Export every span of the process to ``endpoint`` over OTLP/HTTP (nothing when None)."""
    if endpoint is None:
        yield
        return
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    # openinference.project.name: the project Phoenix files the traces under.
    resource = {
        "service.name": "aumai-chaos-demo",
        "openinference.project.name": "aumai-chaos-demo",
    }
    provider = TracerProvider(resource=Resource.create(resource))
    exporter = OTLPSpanExporter(endpoint=endpoint.rstrip("/") + "/v1/traces")
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    # opentelemetry-instrumentation-openai-v2 2.4b0 records a failed stream's error type as a
    # class, which the SDK warns about once per span; the span is exported all the same.
    logging.getLogger("opentelemetry.attributes").setLevel(logging.ERROR)
    genai = OpenAIInstrumentor()
    genai.instrument(tracer_provider=provider)
    try:
        yield
    finally:
        genai.uninstrument()
        provider.shutdown()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m examples.agent_openai.demo")
    parser.add_argument("--seed", type=int, default=7, help="seed of the fault draws")
    parser.add_argument("--output-dir", type=Path, help="keep the results' JSON here")
    parser.add_argument("--otlp-endpoint", metavar="URL", help="export the traces here (OTLP/HTTP)")
    parser.add_argument(
        "--experiment",
        type=Path,
        action="append",
        metavar="FILE",
        help="run this experiment file instead of the demo's two (repeatable)",
    )
    args = parser.parse_args(argv)
    meant_by_name = {path.name: meant for path, meant in EXPERIMENTS}
    runs = (
        [(path, meant_by_name.get(path.name, "passed")) for path in args.experiment]
        if args.experiment
        else list(EXPERIMENTS)
    )

    with (
        tempfile.TemporaryDirectory() as tmp,
        ProviderServer() as server,
        _traces_to(args.otlp_endpoint),
    ):
        out_dir: Path = args.output_dir or Path(tmp)
        out_dir.mkdir(parents=True, exist_ok=True)
        os.environ["OPENAI_BASE_URL"] = server.openai_base_url
        os.environ["OPENAI_API_KEY"] = "dummy"
        sys.stderr.write(f"Scripted model server (ProviderServer) on {server.openai_base_url}\n")
        instrument()
        try:
            said: list[tuple[str, str]] = []
            stories: list[tuple[str, list[str]]] = []
            as_meant = True
            for experiment, meant in runs:
                output = out_dir / f"{experiment.stem}.json"
                verdict, text = _verdict(output, _run_cli(experiment, args.seed, output))
                said.append((experiment.stem, text))
                stories.append((experiment.stem, _story(output)))
                as_meant &= verdict == meant
        finally:
            uninstrument()
    width = max(len(name) for name, _ in said) + 2
    print("\nVerdicts:")
    for name, text in said:
        print(f"  {name:<{width}}{text}")
    print("\nDid the agent recover?")
    for name, lines in stories:
        for line in lines:
            print(f"  {name:<{width}}{line}")
    return 0 if as_meant else 1


if __name__ == "__main__":
    sys.exit(main())
