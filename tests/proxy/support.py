"""The proxy as a real process in front of a real upstream: start it, wait for its listening
line, stop it with a signal and read its result."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import textwrap
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.cli.support import start_cli

LISTENING = re.compile(r"^aumai-chaos proxy listening on (http://127\.0\.0\.1:\d+) -> (.+)$")
START_TIMEOUT_S = 30.0

#: An experiment with no fault: the proxy only observes.
NO_FAULT = """\
experiment_id: proxy-test
name: Proxy test
duration_seconds: {duration}
faults: []
"""


@dataclass
class Running:
    """A proxy process: its URL, and its output once it ended."""

    process: subprocess.Popen[str]
    url: str
    stderr_lines: list[str] = field(default_factory=list)
    stdout: str = ""
    returncode: int | None = None

    def stop(self, sig: int = signal.SIGINT, timeout: float = 30.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.wait(timeout)

    def wait(self, timeout: float = 60.0) -> int:
        if self.returncode is not None:
            return self.returncode
        self.returncode = self.process.wait(timeout)
        assert self.process.stdout is not None
        self.stdout = self.process.stdout.read()
        return self.returncode

    @property
    def stderr(self) -> str:
        return "\n".join(self.stderr_lines)


def write_experiment(
    folder: Path, text: str, duration: float = 120, name: str = "exp.yaml"
) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text).format(duration=duration), encoding="utf-8")
    return path


@contextmanager
def proxy(
    experiment: Path,
    *upstreams: str,
    extra: tuple[str, ...] = (),
    output: Path | None = None,
    env: dict[str, str] | None = None,
) -> Iterator[Running]:
    """``aumai-chaos proxy`` running until the block ends (then Ctrl-C, result collected)."""
    args = ["proxy", "--experiment", str(experiment), "--prometheus-linger", "0"]
    for up in upstreams:
        args += ["--upstream", up]
    if output is not None:
        args += ["--output", str(output)]
    process = start_cli(*args, *extra, env=env)
    lines: list[str] = []
    found: dict[str, str] = {}
    ready = threading.Event()

    def pump() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            lines.append(line.rstrip("\n"))
            match = LISTENING.match(line.rstrip("\n"))
            if match:
                found["url"] = match.group(1)
                ready.set()
        ready.set()

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    ready.wait(START_TIMEOUT_S)
    if "url" not in found:
        process.kill()
        process.wait(10)
        reader.join(5)
        for pipe in (process.stdout, process.stderr):
            if pipe is not None:
                pipe.close()
        raise AssertionError("the proxy did not start:\n" + "\n".join(lines))
    running = Running(process, found["url"], lines)
    try:
        yield running
    finally:
        if process.poll() is None:
            running.stop()
        else:
            running.wait()
        reader.join(10)
        for pipe in (process.stdout, process.stderr):
            if pipe is not None:
                pipe.close()


def result_of(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def wait_for(predicate: Any, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return bool(predicate())
