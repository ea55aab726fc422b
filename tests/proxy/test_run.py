"""The proxy's run as ``run``'s: it ends at the duration with the result and exit code of the
verdict, objectives apply to proxied components; HTTPS upstreams; the loopback warning."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from tests.cli.support import cli_env, run_cli
from tests.proxy.support import NO_FAULT, proxy, result_of, write_experiment
from tests.proxy.upstream import JSON_BODY, fixed_upstream, self_signed

DEVIATES = """\
experiment_id: proxy-verdict
name: Proxy verdict
duration_seconds: {duration}
faults:
  - fault_type: http_error
    status_code: 503
    times: 1
    affected_components: [127.0.0.1]
steady_state:
  - component: 127.0.0.1
    max_error_rate: 0.0
"""


def test_it_ends_at_the_duration_with_the_verdict_as_exit_code(tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    junit = tmp_path / "junit.xml"
    with fixed_upstream() as upstream:
        exp = write_experiment(tmp_path, DEVIATES, duration=4)
        with proxy(exp, upstream.url, output=out, extra=("--junit-xml", str(junit))) as run:
            statuses = [httpx.get(run.url + "/v1/json", timeout=10).status_code for _ in range(3)]
            code = run.wait(60)  # no signal: the duration ends it
    assert statuses == [503, 200, 200]
    assert code == 1, run.stderr
    result = result_of(out)
    assert result["status"] == "completed"
    assert result["verdict"] == "deviated"
    assert result["summary"]["components"]["127.0.0.1"]["calls"] == 3
    assert result["summary"]["components"]["127.0.0.1"]["errors"] == 1
    assert "max_error_rate" in junit.read_text(encoding="utf-8")
    assert "Verdict   : deviated" in run.stdout


def test_an_https_upstream(tmp_path: Path) -> None:
    context, ca = self_signed(tmp_path)
    env = cli_env(SSL_CERT_FILE=str(ca))  # the proxy trusts this CA, as any other
    with fixed_upstream(tls=context) as upstream:
        exp = write_experiment(tmp_path, NO_FAULT)
        with proxy(exp, upstream.url, env=env) as run:
            response = httpx.get(run.url + "/v1/json", timeout=10)
            echo = httpx.get(run.url + "/echo", timeout=10).json()
    assert response.content == JSON_BODY
    assert dict(echo["headers"])["host"] == upstream.url.removeprefix("https://")


def test_an_untrusted_https_upstream_is_a_502_that_says_so(tmp_path: Path) -> None:
    context, _ = self_signed(tmp_path)
    exp = write_experiment(tmp_path, NO_FAULT)
    with fixed_upstream(tls=context) as upstream, proxy(exp, upstream.url) as run:
        response = httpx.get(run.url + "/v1/json", timeout=10)
    assert response.status_code == 502
    assert "CERTIFICATE_VERIFY_FAILED" in response.json()["error"]["message"]


def test_listening_beyond_loopback_is_warned_about(tmp_path: Path) -> None:
    exp = write_experiment(tmp_path, NO_FAULT)
    done = run_cli(
        "proxy",
        "-e",
        str(exp),
        "-u",
        "http://127.0.0.1:9",
        "--host",
        "0.0.0.0",
        "--duration",
        "0.5",
        "--json-output",
    )
    assert done.returncode == 0, done.stderr
    assert "aumai-chaos: warning: listening on 0.0.0.0, not loopback" in done.stderr
    assert "aumai-chaos proxy listening on http://0.0.0.0:" in done.stderr
    assert json.loads(done.stdout)["status"] == "completed"
