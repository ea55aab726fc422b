"""Extract the component schemas the tests validate against from OpenAI's published OpenAPI spec.

``python -m scripts.openai_schemas OPENAPI_JSON COMMIT DATE`` reads ``openapi.json`` of
https://github.com/openai/openai-openapi, keeps :data:`ROOTS` and every schema they reference
(transitively), and writes them to ``tests/data/openai-openapi/schemas.json`` as a document
whose ``#/components/schemas/...`` references resolve within it, with the source, commit and
date on top. The spec is MIT-licensed (tests/data/openai-openapi/LICENSE).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

__all__ = ["ROOTS", "extract"]

OUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "openai-openapi" / "schemas.json"
SOURCE = "https://github.com/openai/openai-openapi"
#: What an injected answer must look like: error bodies, chat completions (streamed or not)
#: and the Responses API's objects and stream events.
ROOTS = (
    "ErrorResponse",
    "CreateChatCompletionResponse",
    "CreateChatCompletionStreamResponse",
    "Response",
    "ResponseStreamEvent",
)
PREFIX = "#/components/schemas/"


def _refs(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(PREFIX):
            found.add(ref.removeprefix(PREFIX))
        for value in node.values():
            found |= _refs(value)
    elif isinstance(node, list):
        for value in node:
            found |= _refs(value)
    return found


def _strip(node: Any) -> Any:
    """Drop the documentation-only ``x-oai*`` keys, and write OpenAPI 3.0's ``nullable: true``
    (left in places of the 3.1 spec, unknown to JSON Schema) as JSON Schema says it: ``null``
    added to the ``type`` (and to the ``enum``)."""
    if isinstance(node, list):
        return [_strip(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _strip(v) for k, v in node.items() if not k.startswith("x-oai")}
    if out.pop("nullable", False) is True:
        kind = out.get("type")
        if isinstance(kind, str):
            out["type"] = [kind, "null"]
        if isinstance(out.get("enum"), list) and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
    return out


def extract(spec: dict[str, Any], roots: tuple[str, ...] = ROOTS) -> dict[str, Any]:
    """The schemas ``roots`` need, by name, in name order."""
    schemas: dict[str, Any] = spec["components"]["schemas"]
    keep: set[str] = set()
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in keep:
            continue
        keep.add(name)
        todo.extend(_refs(schemas[name]) - keep)
    return {name: _strip(schemas[name]) for name in sorted(keep)}


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        sys.stderr.write("usage: python -m scripts.openai_schemas OPENAPI_JSON COMMIT DATE\n")
        return 2
    path, commit, date = argv
    spec = json.loads(Path(path).read_text(encoding="utf-8"))
    document = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "source": f"{SOURCE}/blob/{commit}/openapi.json",
        "commit": commit,
        "date": date,
        "openapi_version": spec["info"]["version"],
        "components": {"schemas": extract(spec)},
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(document, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    sys.stderr.write(f"{len(document['components']['schemas'])} schemas -> {OUT}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
