"""Tool calls gone wrong, provider-neutral: the offered tools, arguments cut mid-object, a name
that was not offered, and arguments that still match the schema but carry the wrong values.

Pure functions over JSON values; randomness comes from a ``random.Random`` the caller seeds.
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping
from typing import Any

__all__ = ["cut_arguments", "offered_tools", "perturb_arguments", "unknown_tool_name"]

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
