"""Chaos Toolkit probes: what aumai-chaos experiments found, read from their result files.

``faults_fired`` can also read a service's Prometheus endpoint while the experiment is armed.
A results directory holds the results of one experiment from every service it crossed:
``<experiment_id>.<service>.json`` written by each service at disarm or expiry
(``AUMAI_CHAOS_RESULTS_DIR``), and whatever ``aumai-chaos run --output`` wrote there
(``<experiment_id>.json``, ``<experiment_id>.<anything>.json``).
"""

from __future__ import annotations

import urllib.request
from pathlib import Path

from aumai_chaos import ExperimentResult, load_result_file

__all__ = ["faults_fired", "recovery_rate", "verdict"]

_SCRAPE_SECONDS = 10.0
#: From best to worst: the verdict of several results is the worst of them.
_ORDER = ["passed", "inconclusive", "deviated", "baseline_not_met", "aborted", "failed"]


def verdict(experiment_id: str, results_dir: str) -> str:
    """The verdict of ``experiment_id`` across the services that wrote a result: the worst of
    theirs (``passed`` only when every one passed); ``none`` when there is no result yet."""
    found = [str(r.verdict) for r in _results(experiment_id, results_dir) if r.verdict]
    if not found:
        return "none"
    return max(found, key=lambda v: _ORDER.index(v) if v in _ORDER else len(_ORDER))


def faults_fired(experiment_id: str, results_dir: str = "", prometheus_url: str = "") -> int:
    """How many of the experiment's faults fired: summed over the services' results in
    ``results_dir``, or, with ``prometheus_url`` (a ``/metrics`` endpoint), read live from
    ``chaos_fault_injections_total`` there."""
    if prometheus_url:
        return _scraped_injections(experiment_id, prometheus_url)
    return sum(r.summary.total_faults_fired for r in _results(experiment_id, results_dir))


def recovery_rate(experiment_id: str, results_dir: str) -> float:
    """The share of fired faults the agent recovered from: recovered / fired over the
    results' ``summary.recovery`` rows; ``-1.0`` when no result has recovery rows."""
    fired = recovered = 0
    for result in _results(experiment_id, results_dir):
        for row in result.summary.model_dump().get("recovery") or []:
            fired += int(row.get("fired", 0))
            recovered += int(row.get("recovered", 0))
    return recovered / fired if fired else -1.0


def _scraped_injections(experiment_id: str, url: str) -> int:
    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(url, timeout=_SCRAPE_SECONDS) as response:
        text = response.read().decode("utf-8")
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if (
                sample.name == "chaos_fault_injections_total"
                and sample.labels.get("chaos_experiment_id") == experiment_id
            ):
                total += sample.value
    return int(total)


def _results(experiment_id: str, results_dir: str) -> list[ExperimentResult]:
    folder = Path(results_dir)
    if not folder.is_dir():
        return []
    files = [folder / f"{experiment_id}.json", *sorted(folder.glob(f"{experiment_id}.*.json"))]
    results = [load_result_file(f) for f in dict.fromkeys(files) if f.is_file()]
    return [r for r in results if r.experiment_id == experiment_id]
