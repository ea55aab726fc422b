"""The callables being timed: trivial functions and methods, bare and decorated four ways.

A *shape* is one of four: a plain function or a method, sync or async. Every decorated variant
is built once per shape around a fresh trivial body (``return 1``), so that each row times the
decorator and nothing else.
"""

from __future__ import annotations

import functools
import inspect
import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import wrapt

from .harness import Timer, acall_ns, amethod_ns, call_ns, method_ns

__all__ = [
    "SHAPES",
    "AlwaysMiss",
    "Shape",
    "identity",
    "timer_for",
    "wraps_passthrough",
    "wrapt_passthrough",
]

Decorator = Callable[[Callable[..., Any]], Any]


@dataclass(frozen=True)
class Shape:
    method: bool
    is_async: bool

    @property
    def label(self) -> str:
        return f"{'async' if self.is_async else 'sync'} {'method' if self.method else 'function'}"

    @property
    def slug(self) -> str:
        return f"{'a' if self.is_async else 's'}{'m' if self.method else 'f'}"


SHAPES = (Shape(False, False), Shape(True, False), Shape(False, True), Shape(True, True))


class AlwaysMiss(random.Random):
    """A random source whose every draw is 0.99: a probability-0.5 fault draws but never fires.

    The draw is a C-level callable, as ``random.Random().random`` is, so that the row costs what
    a real draw costs; a Python ``def random(self)`` override would add a Python frame per call.
    """

    def __init__(self) -> None:
        super().__init__(0)
        self.random = itertools.repeat(0.99).__next__  # type: ignore[method-assign]


def identity(fn: Callable[..., Any]) -> Callable[..., Any]:
    return fn


def wraps_passthrough(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The floor a hand-written decorator reaches: ``functools.wraps`` around ``*args, **kwargs``.

    The async form is itself ``async def`` (so it stays a coroutine function, as ours does) and
    awaits the wrapped coroutine.
    """
    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def awrapper(*args: Any, **kwargs: Any) -> Any:
            return await fn(*args, **kwargs)

        return awrapper

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return fn(*args, **kwargs)

    return wrapper


@wrapt.decorator
def wrapt_passthrough(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    """The floor for a wrapt-based decorator: wrapt's C ``FunctionWrapper``, a Python wrapper."""
    return wrapped(*args, **kwargs)


def _body(is_async: bool, method: bool) -> Callable[..., Any]:
    # A new function object every time, so that no two variants share one.
    if method:
        if is_async:

            async def am(self: Any) -> int:
                return 1

            return am

        def m(self: Any) -> int:
            return 1

        return m
    if is_async:

        async def af() -> int:
            return 1

        return af

    def f() -> int:
        return 1

    return f


def build(shape: Shape, deco: Decorator) -> Any:
    """The decorated callable (plain function) or an instance whose ``m`` is decorated."""
    body = _body(shape.is_async, shape.method)
    if not shape.method:
        return deco(body)
    cls = type("Holder", (), {"m": deco(body), "__slots__": ()})
    return cls()


def timer_for(shape: Shape, target: Any) -> Timer:
    if shape.method:
        if shape.is_async:
            return lambda n: amethod_ns(target, n)
        return lambda n: method_ns(target, n)
    if shape.is_async:
        return lambda n: acall_ns(target, n)
    return lambda n: call_ns(target, n)
