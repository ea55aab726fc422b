"""Seeds: one per run (``--chaos-seed``), one per test, derived from the run's and the node id.

A test's seed is a portable function of exactly two values, so that a test replays the same
faults whatever ran before it, whichever xdist worker runs it, and on any machine or Python:

    test_seed = int.from_bytes(blake2b(f"{run_seed}:{nodeid}".encode(), digest_size=8)) >> 1

(big-endian; the shift keeps it in ``[0, 2**63)``, the range of an experiment's ``seed``).
Python's ``hash()`` would not do: it is salted per process. Standard library only.
"""

from __future__ import annotations

import hashlib
import secrets

__all__ = ["MAX_SEED", "new_run_seed", "parse_seed", "test_seed"]

#: Seeds are in ``[0, MAX_SEED]``, the range :class:`~aumai_chaos.ChaosExperiment` accepts.
MAX_SEED = 2**63 - 1


def test_seed(run_seed: int, nodeid: str) -> int:
    """The seed of the test ``nodeid`` in a run seeded ``run_seed``."""
    digest = hashlib.blake2b(f"{run_seed}:{nodeid}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1


# Not a test: pytest must not collect it from a module that imports it.
test_seed.__test__ = False  # type: ignore[attr-defined]


def new_run_seed() -> int:
    """A fresh random run seed, short enough to type back (six digits at most)."""
    return secrets.randbelow(1_000_000)


def parse_seed(text: str) -> int:
    """``--chaos-seed``'s value: a whole number in ``[0, MAX_SEED]``."""
    try:
        value = int(text, 10)
    except ValueError:
        raise ValueError(f"--chaos-seed must be a whole number, got {text!r}") from None
    if not 0 <= value <= MAX_SEED:
        raise ValueError(f"--chaos-seed must be between 0 and {MAX_SEED}, got {value}")
    return value
