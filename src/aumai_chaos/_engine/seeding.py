"""Where the decorators' and the injector's draws come from when they have no ``rng`` of their own.

By default that is the module-level :mod:`random`, so ``random.seed(42)`` replays them, as the
user's guide promises. But the OpenTelemetry SDK draws its span and trace ids from the same
module-level generator, so that replay holds only while the tracing set-up stays the same: turn
tracing on to debug a seeded failure, and different calls fail.

:func:`seed` (or ``AUMAI_CHAOS_SEED`` in the environment, read at import) switches every such draw
to a private :class:`random.Random` that nothing else touches, so tracing cannot disturb it.
``seed(None)`` switches back to the module-level :mod:`random`.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable

__all__ = ["SEED_ENV", "default_draw", "seed"]

SEED_ENV = "AUMAI_CHAOS_SEED"

#: The private stream, or ``None`` to draw from the module-level ``random``.
_private: random.Random | None = None


def seed(n: int | None) -> None:
    """Draw from a private random stream seeded with ``n`` (``None``: the module-level one).

    Applies at once to every decorator and :class:`~aumai_chaos.FaultInjector` without its own
    ``rng``, including those built earlier.
    """
    global _private
    if n is None:
        _private = None
        return
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"seed must be an int or None, not {type(n).__name__}")
    _private = random.Random(n)


def _draw() -> float:
    stream = _private
    return stream.random() if stream is not None else random.random()


def default_draw() -> Callable[[], float]:
    """The draw to use without an ``rng``: it follows :func:`seed`, whenever that is called."""
    return _draw


def _from_environment() -> None:
    value = os.environ.get(SEED_ENV, "").strip()
    if not value:
        return
    try:
        seed(int(value))
    except ValueError:
        import logging

        logging.getLogger("aumai_chaos").warning(
            "%s=%r is not an integer; the draws are not seeded", SEED_ENV, value
        )


_from_environment()
