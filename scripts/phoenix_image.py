"""The README's Phoenix picture: ``docs/images/phoenix-trace.png``, the demo in Arize Phoenix.

``python -m scripts.phoenix_image``, from the repository root:

1. starts Phoenix (``$AUMAI_PHOENIX_BIN``, else ``.venv-phoenix/bin/phoenix``, which
   ``make integration-deps`` installs) on free loopback ports, in a throwaway directory;
2. runs ``make demo``'s launcher with ``--otlp-endpoint`` pointed at it, on
   ``demo-robust.yaml`` cut to :data:`DURATION_S` (so that the trace stays under the 1000
   spans that Phoenix's trace view loads at once): the agent's own spans, the openai SDK's
   GenAI spans and aumai-chaos's ``chaos.fault`` spans arrive in one trace;
3. finds the robust run's trace and its first rate-limit fault, and screenshots Phoenix's trace
   view with that ``chaos.fault`` span selected, in headless Chromium;
4. fails on a picture that is blank.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from scripts.browser import FLAGS, chromium, read_png

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "docs" / "images" / "phoenix-trace.png"
EXPERIMENT = ROOT / "examples" / "experiments" / "demo-robust.yaml"
DURATION_S = 3
PROJECT = "aumai-chaos-demo"
SIZE = (1400, 900)
STARTUP_TIMEOUT_S = 180
ARRIVAL_TIMEOUT_S = 60
#: How long Chromium lets Phoenix's page load its data before the picture is taken.
RENDER_BUDGET_MS = 20_000


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _phoenix_bin() -> str:
    binary = os.environ.get("AUMAI_PHOENIX_BIN") or str(ROOT / ".venv-phoenix" / "bin" / "phoenix")
    if not Path(binary).is_file():
        raise SystemExit(f"Phoenix not found at {binary}: run `make integration-deps`")
    return binary


class Phoenix:
    """A Phoenix server of our own, read through its REST and GraphQL APIs."""

    def __init__(self, work: Path) -> None:
        self.port, self.grpc_port = _free_port(), _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "PHOENIX_"))}
        env.update(
            PHOENIX_WORKING_DIR=str(work),
            PHOENIX_HOST="127.0.0.1",
            PHOENIX_PORT=str(self.port),
            PHOENIX_GRPC_PORT=str(self.grpc_port),
            PHOENIX_TELEMETRY_ENABLED="false",
            PHOENIX_ALLOW_EXTERNAL_RESOURCES="false",
            HOME=str(work),
        )
        self.log = work / "phoenix.log"
        with self.log.open("w") as log:
            self.proc = subprocess.Popen(
                [_phoenix_bin(), "serve"], stdout=log, stderr=subprocess.STDOUT, env=env, cwd=work
            )

    def wait_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"phoenix exited {self.proc.returncode}: {self.log.read_text()}")
            try:
                with urllib.request.urlopen(self.base + "/healthz", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.5)
        raise SystemExit(f"Phoenix not ready in {STARTUP_TIMEOUT_S}s")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.base + path, timeout=10) as response:
            return json.load(response)

    def spans(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        cursor = ""
        for _ in range(1000):  # bounded: 1000 pages of 1000 spans
            page = self.get(f"/v1/projects/{PROJECT}/spans?limit=1000{cursor}")
            found += page["data"]
            if not page.get("next_cursor"):
                break
            cursor = f"&cursor={page['next_cursor']}"
        return found

    def project_id(self) -> str:
        [project] = [p for p in self.get("/v1/projects")["data"] if p["name"] == PROJECT]
        return str(project["id"])


def _robust_fault(phoenix: Phoenix) -> tuple[str, str]:
    """The robust run's trace id and the span id of its first rate-limit fault."""
    deadline = time.monotonic() + ARRIVAL_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            spans = phoenix.spans()
        except urllib.error.HTTPError:  # the project appears with its first span
            spans = []
        runs = [
            s
            for s in spans
            if s["name"] == "chaos.experiment"
            and s["attributes"].get("chaos.experiment.id") == "demo-robust"
        ]
        if runs:
            trace_id = runs[0]["context"]["trace_id"]
            faults = sorted(
                (
                    s
                    for s in spans
                    if s["name"] == "chaos.fault"
                    and s["context"]["trace_id"] == trace_id
                    and s["attributes"].get("chaos.fault.type") == "rate_limit"
                ),
                key=lambda s: str(s["start_time"]),
            )
            if faults:
                return trace_id, faults[0]["context"]["span_id"]
        time.sleep(1)
    raise SystemExit("the demo's spans did not arrive in Phoenix")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="aumai-phoenix-") as tmp:
        phoenix = Phoenix(Path(tmp))
        try:
            phoenix.wait_ready()
            config = yaml.safe_load(EXPERIMENT.read_text())
            config["duration_seconds"] = DURATION_S
            short = Path(tmp) / EXPERIMENT.name
            short.write_text(yaml.safe_dump(config, sort_keys=False))
            demo = [sys.executable, "-m", "examples.agent_openai.demo", "--experiment", str(short)]
            done = subprocess.run(
                [*demo, "--otlp-endpoint", phoenix.base],
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                check=False,
            )
            if done.returncode != 0:
                raise SystemExit(f"the demo exited {done.returncode}")
            trace_id, span_id = _robust_fault(phoenix)
            count = sum(s["context"]["trace_id"] == trace_id for s in phoenix.spans())
            if count >= 1000:  # the trace view would show only part of the tree
                raise SystemExit(f"the trace has {count} spans: lower DURATION_S")
            # Phoenix selects a span by its GraphQL node id, "Span:<row id>" in base64.
            query = {
                "query": "query($id: ID!, $f: String) { node(id: $id) { ... on Project { "
                "spans(first: 1, filterCondition: $f) { edges { node { id } } } } } }",
                "variables": {"id": phoenix.project_id(), "f": f"span_id == '{span_id}'"},
            }
            request = urllib.request.Request(
                phoenix.base + "/graphql",
                data=json.dumps(query).encode(),
                headers={"content-type": "application/json"},
            )
            with urllib.request.urlopen(request, timeout=10) as response:
                answer = json.load(response)
            node = answer["data"]["node"]["spans"]["edges"][0]["node"]["id"]
            assert base64.b64decode(node).startswith(b"Span:"), node
            url = (
                f"{phoenix.base}/projects/{phoenix.project_id()}/traces/{trace_id}"
                f"?selectedSpanNodeId={node}"
            )
            _screenshot(url, OUTPUT)
        finally:
            phoenix.stop()
    print(f"wrote {OUTPUT.relative_to(ROOT)}")


def _screenshot(url: str, png: Path) -> None:
    binary = chromium()
    if binary is None:
        raise SystemExit("chromium not found: install Debian's 'chromium' package")
    png.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="aumai-chromium-") as profile:
        proc = subprocess.run(
            [
                binary,
                *FLAGS,
                f"--user-data-dir={profile}",
                f"--screenshot={png}",
                f"--window-size={SIZE[0]},{SIZE[1]}",
                f"--virtual-time-budget={RENDER_BUDGET_MS}",
                url,
            ],
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
    if proc.returncode != 0 or not png.is_file():
        raise SystemExit(f"chromium failed ({proc.returncode}): {proc.stderr[-2000:]}")
    # Phoenix's dark page with its trace tree has hundreds of colours; a blank or error page few.
    colours = read_png(png).colors(step=4)
    if len(colours) < 50:
        raise SystemExit(f"{png}: looks blank ({len(colours)} colours)")


if __name__ == "__main__":
    main()
