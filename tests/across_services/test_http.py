"""Two processes on loopback: a caller here, a tool service (uvicorn, ``@chaos_target``,
``AUMAI_CHAOS_ARMED``) in its own. Only the caller's requests inside a baggage-scoped block are
faulted there; exact counts."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import aumai_chaos
from aumai_chaos import propagation
from tests.across_services.conftest import (
    TOOL_ERRORS,
    ToolService,
    start_tool_service,
    write_atomically,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def instrumented() -> Iterator[None]:
    aumai_chaos.instrument()
    try:
        yield
    finally:
        aumai_chaos.uninstrument()


def _post(client: httpx.Client, url: str, **headers: str) -> int:
    return client.post(url + "/tool", params={"q": "x"}, headers=headers).status_code


@pytest.mark.usefixtures("instrumented")
def test_only_the_blocks_requests_are_faulted_in_the_tool_service(
    tool_service: ToolService,
) -> None:
    url = tool_service.url
    with httpx.Client() as client:
        outside_before = [_post(client, url) for _ in range(2)]
        with aumai_chaos.experiment(experiment_id="tool-errors", scope="baggage") as block:
            inside = [_post(client, url) for _ in range(3)]
        outside_after = [_post(client, url) for _ in range(2)]
        unarmed = [_post(client, url, baggage="aumai.chaos.experiment=not-armed") for _ in "ab"]
        huge = _post(client, url, baggage="aumai.chaos.experiment=tool-errors," + "k=v," * 4000)
        malformed = _post(client, url, baggage="aumai.chaos.experiment")
    assert inside == [503, 503, 503]
    assert outside_before + outside_after == [200] * 4
    assert unarmed == [200, 200]
    assert huge == 200
    assert malformed == 200
    assert block.result is not None
    assert block.result.experiment_id == "tool-errors"
    stats = tool_service.stats()
    assert stats["calls"]["lookup"] == 2 + 2 + 2 + 1 + 1  # the faulted calls never ran
    assert stats["ignored"]["unknown"] == 2
    assert stats["ignored"]["oversized"] == 1
    assert stats["ignored"]["malformed"] == 1


def test_a_client_with_no_baggage_is_never_faulted(tool_service: ToolService) -> None:
    # The block runs, but this client is not instrumented and nothing injects the entry.
    with httpx.Client() as client, aumai_chaos.experiment(scope="baggage"):
        codes = [_post(client, tool_service.url) for _ in range(3)]
    assert codes == [200, 200, 200]


def test_inject_carries_the_entry_for_clients_we_do_not_instrument(
    tool_service: ToolService,
) -> None:
    with httpx.Client() as client:
        with aumai_chaos.experiment(experiment_id="tool-errors", scope="baggage"):
            headers: dict[str, str] = {}
            propagation.inject(headers)
            faulted = _post(client, tool_service.url, **headers)
        assert "aumai.chaos.experiment=tool-errors" in headers["baggage"]
        assert faulted == 503
        assert _post(client, tool_service.url, **headers) == 503  # the header, not the block


def test_arming_and_disarming_by_file_needs_no_restart(tmp_path: Path) -> None:
    service = start_tool_service(tmp_path)
    try:
        headers: dict[str, str] = {"baggage": "aumai.chaos.experiment=tool-errors"}
        with httpx.Client() as client:
            assert _post(client, service.url, **headers) == 200
            armed_file = service.armed_dir / "tool-errors.yaml"
            write_atomically(armed_file, TOOL_ERRORS.format(duration=600))
            service.wait_armed(["tool-errors"])
            assert [_post(client, service.url, **headers) for _ in range(2)] == [503, 503]
            armed_file.unlink()
            service.wait_armed([])
            assert _post(client, service.url, **headers) == 200
        result_file = service.results_dir / "tool-errors.tool-service.json"
        result = aumai_chaos.load_result_file(result_file)
        assert result.summary.total_faults_fired == 2
        assert result.status == "completed"
    finally:
        service.stop()


def test_an_armed_experiment_expires(tmp_path: Path) -> None:
    service = start_tool_service(tmp_path)
    try:
        write_atomically(service.armed_dir / "short.yaml", TOOL_ERRORS.format(duration=1.5))
        service.wait_armed(["tool-errors"])
        headers = {"baggage": "aumai.chaos.experiment=tool-errors"}
        with httpx.Client() as client:
            assert _post(client, service.url, **headers) == 503
            service.wait_armed([], timeout=10)
            assert _post(client, service.url, **headers) == 200
        data = json.loads((service.results_dir / "tool-errors.tool-service.json").read_text())
        assert data["summary"]["total_faults_fired"] == 1
        assert data["verdict"] == "passed"
    finally:
        service.stop()


def test_a_malformed_armed_file_is_one_line_and_the_others_stay_armed(tmp_path: Path) -> None:
    armed = tmp_path / "armed"
    armed.mkdir()
    (armed / "good.yaml").write_text(TOOL_ERRORS.format(duration=600), encoding="utf-8")
    bad = armed / "bad.yaml"
    bad.write_text(
        "experiment_id: bad\nname: b\nduration_seconds: 60\nfaults: [{fault_type: eror}]\n",
        encoding="utf-8",
    )
    service = start_tool_service(tmp_path)
    try:
        service.wait_armed(["tool-errors"])
        with httpx.Client() as client:
            assert _post(client, service.url, baggage="aumai.chaos.experiment=bad") == 200
            good = _post(client, service.url, baggage="aumai.chaos.experiment=tool-errors")
            assert good == 503
        time.sleep(0.6)  # a few more looks at the directory: the bad file is not re-reported
    finally:
        stderr = service.stop()
    lines = [line for line in stderr.splitlines() if str(bad) in line]
    assert len(lines) == 1, stderr
    assert "fault_type" in lines[0]
    assert "Traceback" not in stderr
    assert os.path.exists(bad)
