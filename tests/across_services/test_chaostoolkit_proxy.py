"""The Chaos Toolkit ``proxy`` action for real: it runs ``aumai-chaos proxy`` in its own
process for a while in front of ``ProviderServer``; the real ``openai`` client goes through it
meanwhile, and the action returns what it documents (the run's verdict, counts, exit code and
the proxy's URL) while the proxy writes ``--output``."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from typing import Any

import openai

from aumai_chaos import load_result_file
from aumai_chaos.testing import ProviderServer

RATE_LIMITED_TWICE = """\
experiment_id: ctk-proxy
name: The proxy under Chaos Toolkit
duration_seconds: 600
faults:
  - fault_type: rate_limit
    times: 2
    retry_after_s: 0
steady_state:
  - component: openai.chat.completions
    max_error_rate: 0.0
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_listening(port: int, action: threading.Thread, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and action.is_alive():
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"the proxy did not listen on {port}")


def test_the_proxy_action_runs_the_proxy_for_its_duration(tmp_path: Path) -> None:
    from chaosaumai.actions import proxy

    experiment = tmp_path / "exp.yaml"
    experiment.write_text(RATE_LIMITED_TWICE, encoding="utf-8")
    output = tmp_path / "out" / "result.json"
    port = _free_port()
    returned: dict[str, Any] = {}
    errors: list[BaseException] = []

    def run_action() -> None:
        try:
            returned.update(proxy(arguments, duration_seconds=6.0))
        except BaseException as exc:
            errors.append(exc)

    with ProviderServer() as server:
        arguments = [
            "--experiment",
            str(experiment),
            "--upstream",
            server.url,
            "--port",
            str(port),
            "--output",
            str(output),
            "--prometheus-linger",
            "0",
        ]
        action = threading.Thread(target=run_action)
        action.start()
        try:
            _wait_listening(port, action)
            assert errors == []
            client = openai.OpenAI(
                base_url=f"http://127.0.0.1:{port}/v1", api_key="test", max_retries=0
            )
            codes: list[int] = []
            for _ in range(3):
                try:
                    client.chat.completions.create(
                        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
                    )
                    codes.append(200)
                except openai.RateLimitError as exc:
                    codes.append(exc.status_code)
            upstream_saw = server.request_count()
        finally:
            action.join(60)
    assert not action.is_alive()
    assert errors == []
    assert codes == [429, 429, 200]
    assert upstream_saw == 1
    # The action's duration is the proxy's (the file's is 600 s): it ended by itself with
    # the verdict, 1 (deviated), not as interrupted.
    assert returned["exit_code"] == 1, returned
    assert returned["url"] == f"http://127.0.0.1:{port}"
    assert returned["experiment_id"] == "ctk-proxy"
    assert returned["status"] == "completed"
    assert returned["verdict"] == "deviated"
    assert returned["total_faults_fired"] == 2
    assert any("listening on" in line for line in returned["stderr"])
    result = load_result_file(output)
    assert result.summary.total_faults_fired == 2
    assert result.summary.components["openai.chat.completions"].calls == 3


def test_the_proxy_action_with_bad_arguments_raises_with_the_proxys_line(
    tmp_path: Path,
) -> None:
    from chaosaumai.actions import proxy

    try:
        proxy(["--experiment", str(tmp_path / "missing.yaml"), "--upstream", "x"], 5.0)
    except RuntimeError as exc:
        message = str(exc)
    else:
        raise AssertionError("no error")
    assert "aumai-chaos proxy failed (2)" in message
    assert "--upstream: 'x' must start with http:// or https://" in message
