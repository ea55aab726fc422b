"""``_engine.patches``: our wrapt wrapper goes innermost, behind the routing gate, and comes out
again wherever other instrumentations put theirs meanwhile, leaving theirs in place."""

from __future__ import annotations

from typing import Any

import wrapt

import aumai_chaos
from aumai_chaos._engine.patches import Patches


def _tagging(tag: str, seen: list[str]) -> Any:
    def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        seen.append(tag)
        return wrapped(*args, **kwargs)

    return wrapper


def _client_class() -> type:
    class Client:
        def send(self, x: int) -> int:
            return x + 1

    return Client


def test_ours_goes_under_a_wrapper_already_there_and_only_ours_comes_out() -> None:
    seen: list[str] = []
    client = _client_class()
    original = client.__dict__["send"]
    wrapt.wrap_function_wrapper(client, "send", _tagging("before", seen))
    patches, ours = Patches(), _tagging("ours", seen)
    patches.wrap(client, "send", ours)
    patches.wrap(client, "send", ours)  # there already: not twice
    assert bool(patches)
    wrapt.wrap_function_wrapper(client, "send", _tagging("after", seen))
    assert patches.originals(client) == {"send": original}

    with aumai_chaos.experiment(faults=[]):  # something routes: the gate lets ours in
        assert client().send(1) == 2
    assert seen == ["after", "before", "ours"]  # ours innermost, where the network is
    seen.clear()
    assert client().send(1) == 2
    assert seen == ["after", "before"]  # nothing routes: wrapt skips ours in C

    patches.undo()
    patches.undo()  # idempotent
    assert not patches
    with aumai_chaos.experiment(faults=[]):
        seen.clear()
        assert client().send(2) == 3
    assert seen == ["after", "before"]  # theirs stay, in their order
    outer = client.__dict__["send"]
    assert outer.__wrapped__.__wrapped__ is original


def test_undo_restores_the_plain_method_when_nothing_else_wrapped_it() -> None:
    client = _client_class()
    original = client.__dict__["send"]
    patches = Patches()
    patches.wrap(client, "send", _tagging("ours", []))
    assert isinstance(client.__dict__["send"], wrapt.FunctionWrapper)
    patches.undo()
    assert client.__dict__["send"] is original
