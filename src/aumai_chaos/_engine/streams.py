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


def _pending(during: list[Firing]) -> list[Firing]:
    return sorted(during, key=lambda f: f.plan.after_items)


def _due(pending: list[Firing], delivered: int) -> Iterator[Firing]:
    """The ``during`` faults due once ``delivered`` items went out, in order, each begun (inside
    its experiment's window). A raising one (``stream_cut``) ends its span and raises here; the
    driver carries out the others: end the stream, or wait (sync or async) and go on."""
    while pending and pending[0].plan.after_items <= delivered:
        firing = pending.pop(0)
        if not firing.begin():
            continue
        if firing.plan.raises:
            exc = firing.exception()
            firing.end(exc)
            raise exc
        yield firing


def stream_sync(gen: Generator[Any, Any, Any], during: list[Firing]) -> Generator[Any, Any, Any]:
    """``yield from gen`` with ``during`` faults acting at their items."""
    pending = _pending(during)
    delivered = 0
    sent: Any = None
    thrown: BaseException | None = None
    try:
        while True:
            for firing in _due(pending, delivered) if thrown is None else ():
                if firing.plan.ends_stream:
                    firing.end()
                    return None
                try:
                    firing.sleep()
                finally:
                    firing.end()
            try:
                value = gen.send(sent) if thrown is None else gen.throw(thrown)
            except StopIteration as stop:
                return stop.value
            thrown = None
            delivered += 1
            try:
                sent = yield value
            except GeneratorExit:
                raise
            except BaseException as exc:
                thrown = exc
    finally:
        for firing in pending:
            firing.skip()
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
        pending = _pending(during)
        delivered = 0
        sent: Any = None
        thrown: BaseException | None = None
        try:
            while True:
                truncated = False
                for firing in _due(pending, delivered) if thrown is None else ():
                    if firing.plan.ends_stream:
                        firing.end()
                        truncated = True
                        break
                    try:
                        await firing.asleep()
                    finally:
                        firing.end()
                if truncated:
                    break
                try:
                    if thrown is None:
                        value = await inner.asend(sent)
                    else:
                        value = await inner.athrow(thrown)
                except StopAsyncIteration:
                    break
                thrown = None
                delivered += 1
                try:
                    sent = yield value
                except GeneratorExit:
                    raise
                except BaseException as exc:
                    thrown = exc
        finally:
            for firing in pending:
                firing.skip()
            await inner.aclose()
    except BaseException as exc:
        if call is not None:
            call.exit(exc)
        raise
    if call is not None:
        call.exit(None)
