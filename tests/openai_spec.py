"""OpenAI's published schemas (tests/data/openai-openapi/schemas.json, extracted from
https://github.com/openai/openai-openapi by scripts/openai_schemas.py) as a validator.

One correction to the spec, in :func:`_spec_nulls`: OpenAI sends ``"usage": null`` in every
chat chunk but the last when ``stream_options.include_usage`` is set (the spec's own
description of the field says so, its schema does not allow it), and in the Responses API's
events before the response is complete.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

SCHEMAS = Path(__file__).resolve().parent / "data" / "openai-openapi" / "schemas.json"


@cache
def _validator(name: str) -> Draft202012Validator:
    document: dict[str, Any] = json.loads(SCHEMAS.read_text(encoding="utf-8"))
    return Draft202012Validator({**document, "$ref": f"#/components/schemas/{name}"})


def _spec_nulls(value: Any) -> Any:
    """``value`` without the ``usage: null`` OpenAI sends and its schema omits (see above)."""
    if isinstance(value, dict):
        return {k: _spec_nulls(v) for k, v in value.items() if not (k == "usage" and v is None)}
    if isinstance(value, list):
        return [_spec_nulls(v) for v in value]
    return value


def problems(name: str, value: Any) -> list[str]:
    """What the schema ``name`` finds wrong with ``value``, one line each: ``[]`` when valid."""
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '.'}: {e.message[:200]}"
        for e in _validator(name).iter_errors(_spec_nulls(value))
    ]
