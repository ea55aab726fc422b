"""Type checkers see a decorated function as itself: mypy --strict on user code.

The decorator factories (``chaos_target("...")``, ``chaos_monkey(...)``,
``resilience_test(...)``) return a decorator generic in the callable it takes; typed as an alias
with unbound type variables, mypy solved them to ``Never`` and every call of a decorated
function was an error.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from tests.helpers import REPO

USER_CODE = """
from aumai_chaos import FaultConfig, chaos_monkey, chaos_target, resilience_test

@chaos_target("vector_db")
async def search(query: str, k: int = 2) -> list[str]:
    return [query] * k

@chaos_target
def bare(x: int) -> int:
    return x

@chaos_monkey(fault_type="latency", probability=0.5, duration_ms=5)
def slow(x: int) -> str:
    return str(x)

@resilience_test(faults=[FaultConfig(fault_type="error", probability=0.1)])
def flaky(x: int, *, y: str = "") -> str:
    return y * x

async def use() -> str:
    hits: list[str] = await search("q", k=3)
    return hits[0] + str(bare(1)) + slow(2) + flaky(3, y="a")

reveal_type(search)
reveal_type(flaky)
"""


def test_decorated_functions_keep_their_signatures_for_mypy(tmp_path: Path) -> None:
    from mypy import api

    (tmp_path / "user.py").write_text(textwrap.dedent(USER_CODE))
    (tmp_path / "mypy.ini").write_text(f"[mypy]\nstrict = True\nmypy_path = {REPO / 'src'}\n")
    stdout, stderr, status = api.run(
        [
            str(tmp_path / "user.py"),
            "--config-file",
            str(tmp_path / "mypy.ini"),
            "--cache-dir",
            str(tmp_path / "cache"),
        ]
    )
    notes = [line for line in stdout.splitlines() if "note: Revealed type" in line]
    errors = [line for line in stdout.splitlines() if ": error:" in line]
    assert errors == [], stdout + stderr
    assert status == 0, stdout
    assert notes[0].endswith(
        '"def (query: str, k: int =) -> typing.Coroutine[Any, Any, list[str]]"'
    )
    assert notes[1].endswith('"def (x: int, *, y: str =) -> str"')
