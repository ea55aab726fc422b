"""Tool calls gone wrong, provider-neutral: the offered tools, which of a turn's calls a fault
acts on, arguments cut mid-object, a name that was not offered, arguments that still match the
schema but carry the wrong values, and arguments that break the schema.

Pure functions over JSON values; randomness comes from a ``random.Random`` the caller seeds.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Mapping
from typing import Any

from aumai_chaos.faults import FaultType

__all__ = [
    "break_arguments",
    "change_call",
    "change_calls",
    "cut_arguments",
    "offered_tools",
    "on_tool_calls",
    "perturb_arguments",
    "pick_calls",
    "unknown_tool_name",
    "wrong_arguments",
]

#: Plausible tool names for ``unknown_tool_call``, tried in order; the first one not offered.
_MADE_UP = ("lookup_records", "fetch_document", "run_query", "send_message", "delete_file")


def offered_tools(api: str, request: Mapping[str, Any] | None) -> dict[str, Mapping[str, Any]]:
    """The tools a request offered, by name, with their JSON schemas (``{}`` when none).

    OpenAI chat: ``tools[].function.{name, parameters}``; Responses: ``tools[]`` of type
    ``function`` with ``name`` and ``parameters``; Anthropic: ``tools[].{name, input_schema}``.
    """
    tools = request.get("tools") if isinstance(request, Mapping) else None
    out: dict[str, Mapping[str, Any]] = {}
    if not isinstance(tools, list):
        return out
    for tool in tools:
        if not isinstance(tool, Mapping):
            continue
        spec: Any = tool.get("function") if api == "openai.chat.completions" else tool
        if not isinstance(spec, Mapping) or not isinstance(spec.get("name"), str):
            continue
        schema = spec.get("input_schema" if api == "anthropic.messages" else "parameters")
        out[spec["name"]] = schema if isinstance(schema, Mapping) else {}
    return out


def on_tool_calls(fault: Any) -> bool:
    """Whether ``fault`` acts on tool calls: its class declares the ``tool_calls`` field."""
    return "tool_calls" in type(fault).model_fields


def wrong_arguments(
    fault: Any, arguments: Any, schema: Mapping[str, Any] | None, rng: random.Random
) -> dict[str, Any] | None:
    """The arguments that ``wrong_tool_arguments`` (schema-valid, other values) or
    ``invalid_tool_arguments`` (schema-breaking) make of ``arguments`` (a JSON object, or its
    text), or ``None`` when there is no schema, no object, or nothing to change."""
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except ValueError:
            return None
    if not schema or not isinstance(arguments, dict):
        return None
    violation = getattr(fault, "violation", _SAME)
    if violation is not _SAME:
        return break_arguments(arguments, schema, rng, violation)
    return perturb_arguments(arguments, schema, rng)


def pick_calls(count: int, which: str, rng: random.Random) -> list[int]:
    """The indexes of the calls, of ``count``, that a fault acts on: ``first``, ``all``, or
    ``random`` (each call with a chance of one half, drawn from ``rng``; at least one)."""
    if count <= 0:
        return []
    if which == "all":
        return list(range(count))
    if which == "random":
        chosen = [index for index in range(count) if rng.random() < 0.5]
        return chosen or [rng.randrange(count)]
    return [0]


def change_calls(
    fault: Any,
    calls: list[dict[str, Any]],
    change: Callable[[dict[str, Any]], bool],
    rng: random.Random,
    acted: list[int] | None,
) -> bool:
    """Apply ``change`` to the calls, of ``calls``, that the fault's ``tool_calls`` picks;
    whether any changed. The indexes of those that did are added to ``acted``."""
    picked = pick_calls(len(calls), getattr(fault, "tool_calls", "first"), rng)
    changed = [change(calls[index]) for index in picked]
    if acted is not None:
        acted.extend(index for index, ok in zip(picked, changed, strict=True) if ok)
    return any(changed)


def change_call(
    fault: Any,
    call: dict[str, Any],
    api: str,
    request: Any,
    rng: random.Random,
    *,
    key: str = "arguments",
    malformed: Callable[[dict[str, Any]], bool] | None = None,
) -> bool:
    """A tool-call fault on one call (a dict with ``name`` and its arguments under ``key``:
    JSON text for OpenAI's ``arguments``, an object for Anthropic's ``input``); whether it
    changed anything. ``malformed`` replaces the default cut of the arguments' text."""
    kind = fault.fault_type
    if kind is FaultType.malformed_tool_call:
        if malformed is not None:
            return malformed(call)
        cut = cut_arguments(str(call.get(key, "")))
        if cut is None:
            return False
        call[key] = cut
        return True
    offered = offered_tools(api, request)
    if kind is FaultType.unknown_tool_call:
        call["name"] = unknown_tool_name(offered, getattr(fault, "tool_name", None))
        return True
    text = key == "arguments"
    arguments = str(call.get(key, "")) if text else call.get(key)
    wrong = wrong_arguments(fault, arguments, offered.get(str(call.get("name"))), rng)
    if wrong is None:
        return False
    call[key] = json.dumps(wrong) if text else wrong
    return True


def cut_arguments(text: str, keep: float = 0.5) -> str | None:
    """``text`` cut mid-object, to about ``keep`` of its length, so that ``json.loads`` fails;
    ``None`` when it is no object."""
    stripped = text.strip()
    if not stripped.startswith("{"):
        return None
    cut = stripped[: max(1, min(len(stripped) - 1, int(len(stripped) * keep)))]
    while cut:
        try:
            json.loads(cut)
        except ValueError:
            return cut
        cut = cut[:-1]  # pragma: no cover - a proper prefix of an object never parses
    return "{"  # pragma: no cover


def unknown_tool_name(offered: Mapping[str, Any], wanted: str | None) -> str:
    """``wanted`` unless the request offered it; else the first made-up name not offered."""
    if wanted and wanted not in offered:
        return wanted
    for name in _MADE_UP:
        if name not in offered:
            return name
    index = 0
    while f"unknown_tool_{index}" in offered:
        index += 1
    return f"unknown_tool_{index}"


def perturb_arguments(
    arguments: Mapping[str, Any], schema: Mapping[str, Any], rng: random.Random
) -> dict[str, Any] | None:
    """Arguments that still match ``schema`` with other values; ``None`` when none can change.

    Each property that the schema declares is considered: an ``enum`` value becomes another
    allowed value; a number changes (within ``minimum``/``maximum``); a boolean flips; string
    values are swapped between fields (rotated when there are more than two); nested objects
    and arrays of them are perturbed the same way. Undeclared properties stay as they are.
    """
    out = dict(arguments)
    changed = _perturb_object(out, schema, rng)
    return out if changed else None


def _perturb_object(value: dict[str, Any], schema: Mapping[str, Any], rng: random.Random) -> bool:
    props = schema.get("properties")
    if not isinstance(props, Mapping):
        return False
    changed = False
    swappable: list[str] = []
    for key in sorted(value):
        sub = props.get(key)
        if not isinstance(sub, Mapping):
            continue
        current = value[key]
        if isinstance(current, str) and "enum" not in sub:
            if not _CONSTRAINED.intersection(sub):
                swappable.append(key)
            continue
        new = _perturb_value(current, sub, rng)
        if new is not _SAME:
            value[key] = new
            changed = True
    if len({value[k] for k in swappable}) > 1:
        rotated = [value[k] for k in swappable]
        shift = rng.randrange(1, len(rotated))
        rotated = rotated[shift:] + rotated[:shift]
        for key, new in zip(swappable, rotated, strict=True):
            changed = changed or value[key] != new
            value[key] = new
    return changed


_SAME: Any = object()
#: String keywords that another field's value might break: such strings are never swapped.
_CONSTRAINED = frozenset({"const", "format", "maxLength", "minLength", "pattern"})


def _perturb_value(current: Any, schema: Mapping[str, Any], rng: random.Random) -> Any:
    enum = schema.get("enum")
    if isinstance(enum, list):
        others = [v for v in enum if v != current]
        return rng.choice(others) if others else _SAME
    if isinstance(current, bool):
        return not current
    if isinstance(current, int | float):
        return _other_number(current, schema, rng)
    if isinstance(current, dict):
        copy = dict(current)
        return copy if _perturb_object(copy, schema, rng) else _SAME
    if isinstance(current, list):
        items = schema.get("items")
        if not isinstance(items, Mapping):
            return _SAME
        out = list(current)
        changed = False
        for index, item in enumerate(out):
            new = _perturb_value(item, items, rng)
            if new is not _SAME:
                out[index] = new
                changed = True
        return out if changed else _SAME
    return _SAME


def _other_number(current: float, schema: Mapping[str, Any], rng: random.Random) -> Any:
    integer = schema.get("type") == "integer" or (
        isinstance(current, int) and current == int(current)
    )
    low = schema.get("minimum")
    high = schema.get("maximum")
    for _ in range(8):
        step = rng.choice((1, 2, 3, 5, 10)) * rng.choice((-1, 1))
        new: float = current + step if integer else round(current * rng.uniform(0.3, 3.0) + step, 3)
        if isinstance(low, int | float) and new < low:
            continue
        if isinstance(high, int | float) and new > high:
            continue
        if new != current:
            return int(new) if integer else new
    for bound in (low, high):  # a narrow range: the bound that differs
        if isinstance(bound, int | float) and bound != current:
            return bound
    return _SAME


#: The ways ``break_arguments`` can break a schema, in the order they are considered.
VIOLATIONS = ("missing_required", "wrong_type", "out_of_enum")


def break_arguments(
    arguments: Mapping[str, Any],
    schema: Mapping[str, Any],
    rng: random.Random,
    violation: str | None = None,
) -> dict[str, Any] | None:
    """Arguments that are valid JSON but break ``schema`` (its top-level ``required`` and
    ``properties``), or ``None`` when it gives nothing to break.

    - ``missing_required``: a required field that the arguments have is dropped;
    - ``wrong_type``: the value of a field without ``enum`` becomes one of a type its ``type``
      does not allow (a number or a boolean as a string, ``"3"`` for ``3``; a string as a
      number);
    - ``out_of_enum``: a field with an ``enum`` gets a value outside it, of the same type
      (``"FAST"`` for ``"fast"``).

    ``violation`` picks one; ``None`` draws one that the schema allows, and the field, from
    ``rng``.
    """
    props = schema.get("properties")
    props = props if isinstance(props, Mapping) else {}
    required = schema.get("required")
    options: dict[str, list[str]] = {
        "missing_required": [k for k in required or () if isinstance(k, str) and k in arguments]
        if isinstance(required, list)
        else [],
        "wrong_type": [
            k
            for k in sorted(arguments)
            if isinstance(props.get(k), Mapping)
            and "enum" not in props[k]
            and _mistyped(props[k], arguments[k]) is not _SAME
        ],
        "out_of_enum": [
            k
            for k in sorted(arguments)
            if isinstance(props.get(k), Mapping) and isinstance(props[k].get("enum"), list)
        ],
    }
    modes = [m for m in VIOLATIONS if options[m] and violation in (None, m)]
    if not modes:
        return None
    mode = rng.choice(modes)
    key = rng.choice(options[mode])
    out = dict(arguments)
    if mode == "missing_required":
        del out[key]
    elif mode == "wrong_type":
        out[key] = _mistyped(props[key], arguments[key])
    else:
        out[key] = _outside(props[key]["enum"], arguments[key])
    return out


def _mistyped(schema: Mapping[str, Any], current: Any) -> Any:
    """A value of a JSON type that ``schema["type"]`` does not allow, or ``_SAME``."""
    declared = schema.get("type")
    types = {declared} if isinstance(declared, str) else set(declared or ())
    if not types or not types <= _JSON_TYPES:
        return _SAME
    if "string" not in types:
        return current if isinstance(current, str) else json.dumps(current)
    if not types & {"integer", "number"}:
        return 3
    if "boolean" not in types:
        return True
    if "array" not in types:
        return [current]
    return _SAME


_JSON_TYPES = frozenset({"string", "integer", "number", "boolean", "object", "array", "null"})


def _outside(enum: list[Any], current: Any) -> Any:
    """A value that ``enum`` does not hold, of the type of ``current`` where it can be."""
    if isinstance(current, str):
        for candidate in (current.upper(), current + "s", current + "_other"):
            if candidate not in enum:
                return candidate
    numbers = [v for v in enum if isinstance(v, int | float) and not isinstance(v, bool)]
    if isinstance(current, int | float) and not isinstance(current, bool) and numbers:
        return max(numbers) + 1
    index = 0
    while f"other_{index}" in enum:
        index += 1
    return f"other_{index}"
