"""Generated test files and readers of what pytest reported about them."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

__all__ = ["AGENT", "HEADER_INI", "junit_properties", "run_seed_of"]

HEADER_INI = """
[pytest]
asyncio_mode = strict
asyncio_default_fixture_loop_scope = function
filterwarnings = error
"""

#: A component decorated at decorator level, and a loop over it that records which calls failed
#: (the ground truth, independent of what the plugin reports).
AGENT = """
import pytest
from aumai_chaos import ChaosError, chaos_target

@chaos_target("vector_db")
def search(query):
    return ["doc"]

def failing_calls(n=40):
    failed = []
    for i in range(1, n + 1):
        try:
            search("q")
        except ChaosError:
            failed.append(i)
    return failed
"""


def junit_properties(path: Path) -> dict[str, dict[str, str]]:
    """Each test's ``<property>`` values, by ``classname::name``."""
    out: dict[str, dict[str, str]] = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        key = f"{case.get('classname')}::{case.get('name')}"
        out[key] = {p.get("name", ""): p.get("value", "") for p in case.iter("property")}
    return out


def run_seed_of(output: str) -> int:
    """The run seed printed in the header."""
    match = re.search(r"aumai-chaos: --chaos-seed (\d+)", output)
    assert match is not None, output
    return int(match.group(1))
