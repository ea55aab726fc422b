"""``during`` faults on decorated generators and async generators: act at item N, exactly.

A fault with ``after_chunks: N`` acts when the consumer asks for item ``N + 1`` (counted from
1), after it has received N items, and before the wrapped generator is asked for the next one:
nothing is read ahead of the consumer. ``stream_stall`` waits, then the stream goes on;
``stream_cut`` raises :class:`~aumai_chaos.StreamCutError`; ``truncated_stream`` ends the
stream without an error. A stream that ends before its fault's position never gets it (the
fault counts as not fired). ``send``, ``throw`` and ``close`` reach the wrapped generator.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Generator, Iterator
from typing import Any

from aumai_chaos._engine.act import CallSpan, CallTimer, Firing, fire_async

__all__ = ["drive_async", "stream_sync"]


class _Course:
    """Where a stream is, for both drivers: the ``during`` faults still to come (in order of
    their item), the items delivered, and what the consumer sent (or threw) for the next one.

    Iterating it is the command generator the two drivers share: it yields each fault due
    before the next item, begun inside its experiment's window (the driver waits its delay, then
    ends it), then :data:`_NEXT` (the driver moves the stream one item on: :meth:`pull`, hand
    the item to the consumer, :meth:`took` or :meth:`threw` what came back). It stops when a
    fault ends the stream early; a raising fault (``stream_cut``) ends its span and raises.
    """

    __slots__ = ("delivered", "pending", "sent", "thrown")

    def __init__(self, during: list[Firing]) -> None:
        self.pending = sorted(during, key=lambda f: f.plan.after_items)
        self.delivered = 0
        self.sent: Any = None
        self.thrown: BaseException | None = None

    def __iter__(self) -> Iterator[Firing | None]:
        pending = self.pending
        while True:
            # No fault acts while the consumer's exception is being thrown in.
            while self.thrown is None and pending and pending[0].plan.after_items <= self.delivered:
                firing = pending.pop(0)
                if not firing.begin():
                    continue
                if firing.plan.raises:
                    exc = firing.exception()
                    firing.end(exc)
                    raise exc
                if firing.plan.ends_stream:
                    firing.end()
                    return
                yield firing
            yield _NEXT

    def pull(self, gen: Generator[Any, Any, Any]) -> Any:
        """The next item of a generator: what the consumer sent, or its exception thrown in."""
        thrown = self.thrown
        value = gen.send(self.sent) if thrown is None else gen.throw(thrown)
        self.took()
        return value

    async def apull(self, gen: AsyncGenerator[Any, Any]) -> Any:
        """:meth:`pull` for an async generator."""
        thrown = self.thrown
        value = await (gen.asend(self.sent) if thrown is None else gen.athrow(thrown))
        self.took()
        return value

    def took(self) -> None:
        self.thrown = None
        self.delivered += 1

    def threw(self, exc: BaseException) -> None:
        """The consumer threw ``exc`` in at the item it was given (``GeneratorExit`` is not
        passed on: the stream is closing)."""
        if isinstance(exc, GeneratorExit):
            raise exc
        self.thrown = exc

    def close(self) -> None:
        """The stream ended: the faults that never came give back their ``times``."""
        for firing in self.pending:
            firing.skip()


#: The command to move the stream one item on.
_NEXT = None


def stream_sync(gen: Generator[Any, Any, Any], during: list[Firing]) -> Generator[Any, Any, Any]:
    """``yield from gen`` with ``during`` faults acting at their items."""
    course = _Course(during)
    try:
        for firing in course:
            if firing is not _NEXT:
                try:
                    firing.sleep()
                finally:
                    firing.end()
                continue
            try:
                value = course.pull(gen)
            except StopIteration as stop:
                return stop.value
            try:
                course.sent = yield value
            except BaseException as exc:
                course.threw(exc)
        return None
    finally:
        course.close()
        gen.close()


async def drive_async(
    make: Callable[[], AsyncGenerator[Any, Any]],
    before: list[Firing],
    during: list[Firing],
    make_call: Callable[[], CallSpan | CallTimer | None],
) -> AsyncGenerator[Any, Any]:
    """A decorated async generator: ``before`` faults at the first item, ``during`` faults at
    theirs, the whole stream inside the component call (``make_call()``, made at the first
    item; never current across a ``yield``)."""
    call = make_call()
    if call is not None:
        call.enter()
    try:
        try:
            await fire_async(before)
        finally:
            if call is not None:
                call.detach()
        inner = make()
        course = _Course(during)
        try:
            for firing in course:
                if firing is not _NEXT:
                    try:
                        await firing.asleep()
                    finally:
                        firing.end()
                    continue
                try:
                    value = await course.apull(inner)
                except StopAsyncIteration:
                    break
                try:
                    course.sent = yield value
                except BaseException as exc:
                    course.threw(exc)
        finally:
            course.close()
            await inner.aclose()
    except BaseException as exc:
        if call is not None:
            call.exit(exc)
        raise
    if call is not None:
        call.exit(None)
