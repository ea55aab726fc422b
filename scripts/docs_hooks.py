"""MkDocs hooks for the documentation site (``mkdocs.yml`` loads this file).

Two parts of the reference are generated at build time, never written by hand:

- the fault-type table, from the fault classes (``aumai_chaos.faults.fault_classes()``): each
  type's action, the sites it can act at and its own fields with their types and defaults,
  replacing the marker ``<!-- generated: fault-types -->``;
- the experiment file's JSON Schema, from the models
  (``aumai_chaos.experiments.schema.experiment_json_schema()``), published as
  ``schema/experiment.schema.json`` beside the pages.
"""

from __future__ import annotations

import json

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page
from pydantic.fields import FieldInfo

from aumai_chaos.experiments.schema import experiment_json_schema
from aumai_chaos.faults import FaultConfig, fault_classes

FAULT_MARKER = "<!-- generated: fault-types -->"
SCHEMA_PATH = "schema/experiment.schema.json"


def _type_name(info: FieldInfo) -> str:
    ann = info.annotation
    text = getattr(ann, "__name__", None) or str(ann)
    for noise in ("typing.", "Annotated[", "aumai_chaos.faults.base.", "NoneType"):
        text = text.replace(noise, "None" if noise == "NoneType" else "")
    return text.replace("|", "\\|")


def _default(info: FieldInfo) -> str:
    if info.is_required():
        return "required"
    if info.default_factory is not None:
        return f"`{info.default_factory()!r}`"  # type: ignore[call-arg]
    return f"`{info.default!r}`" if info.default is not None else "`None`"


def _summary(cls: type[FaultConfig]) -> str:
    doc = (cls.__doc__ or "").strip().split("\n\n", 1)[0]
    return " ".join(doc.split()).replace("|", "\\|")


def fault_types_markdown() -> str:
    """The fault-type reference: one table of every type, then one section per type."""
    base = set(FaultConfig.model_fields)
    rows = ["| fault type | action | sites | class |", "|---|---|---|---|"]
    sections: list[str] = []
    for fault_type, cls in fault_classes().items():
        sites = ", ".join(sorted(s.value for s in cls.sites))
        rows.append(
            f"| [`{fault_type.value}`](#{fault_type.value}) | `{cls.action.value}` | {sites} "
            f"| `{cls.__name__}` |"
        )
        fields = [(n, i) for n, i in cls.model_fields.items() if n not in base]
        body = [f"### `{fault_type.value}` {{#{fault_type.value}}}", "", _summary(cls), ""]
        body.append(f"Acts `{cls.action.value}` the call; sites: {sites}.")
        if cls.site_reason:
            body.append(f"Elsewhere refused: {cls.site_reason}.")
        body.append("")
        if fields:
            body += ["| field | type | default |", "|---|---|---|"]
            body += [f"| `{n}` | `{_type_name(i)}` | {_default(i)} |" for n, i in fields]
        else:
            body.append("No fields of its own.")
        sections.append("\n".join(body))
    return "\n".join(rows) + "\n\n" + "\n\n".join(sections) + "\n"


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    if FAULT_MARKER in markdown:
        return markdown.replace(FAULT_MARKER, fault_types_markdown())
    return markdown


def on_files(files: Files, config: MkDocsConfig) -> Files:
    content = json.dumps(experiment_json_schema(), indent=2, sort_keys=True) + "\n"
    files.append(File.generated(config, SCHEMA_PATH, content=content))
    return files
