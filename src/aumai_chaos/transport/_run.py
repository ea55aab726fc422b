"""What every command generator of the transport shares with its two drivers.

The transport's acting code is written once, as a generator that decides and *yields steps*
(wait in a span, send the request, read the next chunk, close the stream...), and two thin
drivers carry the steps out: a sync one (``time.sleep``, ``send``) and an async one (``await``),
as tenacity's ``BaseRetrying.iter()`` decides and ``Retrying`` / ``AsyncRetrying`` act. A step's
outcome goes back in: its value is sent, its error thrown at the ``yield`` (so the generator's
own ``try``/``finally`` ends a span whatever happened). :class:`Run` keeps that hand-over;
:data:`READ`, :data:`CLOSE` and :class:`Sleep` are the steps of a wrapped byte stream.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Any, Final, Generic, TypeVar

__all__ = ["CLOSE", "READ", "Run", "Sleep", "Step"]

S = TypeVar("S")

# The steps of a wrapped byte stream (``_stream_core``, ``_output_stream``), which the
# wrappers of ``_streams`` carry out.
#: A step: the next chunk of the inner stream that the core must see, sent back in (``None``
#: at its end); those its ``advance`` lets through whole before it are not sent in.
READ: Final = object()
#: A step: close the inner stream (before a fault's error is raised, or where it ends it).
CLOSE: Final = object()


@dataclass(slots=True)
class Sleep:
    """A step: wait ``seconds`` in the span of ``token`` (a stall, a slow stream)."""

    token: object
    seconds: float


Step = bytes | Sleep | object


class Run(Generic[S]):
    """One run of a command generator: :meth:`next` sends the last step's outcome in (its
    ``result``, or its ``error`` thrown; both are then cleared for the next step) and gives
    the next step; ``None`` when the generator has returned, its value then in ``result``
    (so a step is never ``None``)."""

    __slots__ = ("error", "result", "steps")

    def __init__(self, steps: Generator[S, Any, Any]) -> None:
        self.steps = steps
        self.result: Any = None
        self.error: BaseException | None = None

    def next(self) -> S | None:
        error, self.error = self.error, None
        value, self.result = self.result, None
        try:
            if error is not None:
                return self.steps.throw(error)
            return self.steps.send(value)
        except StopIteration as done:
            self.result = done.value
            return None
