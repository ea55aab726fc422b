"""The experiment file's JSON Schema, generated from the models.

Editors validate YAML experiment files with it: the YAML language server reads a schema named
on a file's first line, ``# yaml-language-server: $schema=<url or path>``. The documentation
site publishes it as ``schema/experiment.schema.json``; ``python -m
aumai_chaos.experiments.schema > experiment.schema.json`` writes the same document for a
local copy. The models stay the one source of truth: the loader validates with them, never
with this schema, and the schema is never edited by hand.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from aumai_chaos.experiments.models import ChaosExperiment

__all__ = ["SCHEMA_DIALECT", "experiment_json_schema"]

#: The JSON Schema dialect pydantic generates.
SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def experiment_json_schema() -> dict[str, Any]:
    """The JSON Schema of an experiment file (the input form of :class:`ChaosExperiment`)."""
    schema = ChaosExperiment.model_json_schema(mode="validation")
    return {
        "$schema": SCHEMA_DIALECT,
        "title": "aumai-chaos experiment file",
        **{k: v for k, v in schema.items() if k != "title"},
    }


def main() -> None:
    json.dump(experiment_json_schema(), sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
