"""Chaos Toolkit extension for aumai-chaos: ``chaos discover --no-install chaostoolkit-aumai``.

- ``chaosaumai.actions``: ``arm``, ``disarm``, ``run_experiment``, ``proxy``.
- ``chaosaumai.probes``: ``verdict``, ``faults_fired``, ``recovery_rate``.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from chaoslib.discovery.discover import (
    discover_actions,
    discover_probes,
    initialize_discovery_result,
)
from chaoslib.types import DiscoveredActivities, Discovery

__all__ = ["__version__", "discover"]

try:
    __version__ = version("chaostoolkit-aumai")
except PackageNotFoundError:  # run from a checkout without installing
    __version__ = "0.0.0"


def discover(discover_system: bool = True) -> Discovery:
    """The activities this extension offers (there is no system to discover)."""
    discovery = initialize_discovery_result("chaostoolkit-aumai", __version__, "aumai-chaos")
    discovery["activities"].extend(load_exported_activities())
    return discovery


def load_exported_activities() -> list[DiscoveredActivities]:
    activities: list[DiscoveredActivities] = []
    activities.extend(discover_actions("chaosaumai.actions"))
    activities.extend(discover_probes("chaosaumai.probes"))
    return activities
