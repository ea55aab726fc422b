"""What users touch is exported, and the version is kept in one place (issue 11, Docs)."""

from __future__ import annotations

import re
import tomllib
import typing

import pydantic

import aumai_chaos
import aumai_chaos.faults
from tests.helpers import REPO


def test_the_version_is_kept_in_one_place() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in project["project"]
    assert project["project"]["dynamic"] == ["version"]
    assert project["tool"]["hatch"]["version"]["path"] == "src/aumai_chaos/_version.py"
    version = re.escape(aumai_chaos.__version__)
    holders = [
        path.relative_to(REPO).as_posix()
        for path in [REPO / "pyproject.toml", *sorted((REPO / "src").rglob("*.py"))]
        if re.search(rf"['\"]{version}['\"]", path.read_text(encoding="utf-8"))
    ]
    assert holders == ["src/aumai_chaos/_version.py"]


def _model_types(annotation: object) -> set[type]:
    found: set[type] = set()
    origin = typing.get_origin(annotation)
    for arg in typing.get_args(annotation) if origin is not None else ():
        found |= _model_types(arg)
    if (
        isinstance(annotation, type)
        and issubclass(annotation, (pydantic.BaseModel, str))
        and annotation.__module__.startswith("aumai_chaos")
    ):
        found.add(annotation)
    return found


def test_every_type_an_exported_model_uses_is_exported() -> None:
    exported = {getattr(aumai_chaos, name) for name in aumai_chaos.__all__}
    models = [
        obj for obj in exported if isinstance(obj, type) and issubclass(obj, pydantic.BaseModel)
    ]
    used: set[type] = set()
    for model in models:
        for field in model.model_fields.values():
            used |= _model_types(field.annotation)
    assert used
    # The fault classes are exported from aumai_chaos.faults, beside FaultConfig (their base,
    # which builds any of them from its fault_type).
    exported |= {getattr(aumai_chaos.faults, name) for name in aumai_chaos.faults.__all__}
    assert {t.__name__ for t in used - exported} == set()


def test_what_users_touch_is_exported() -> None:
    for name in (
        "Verdict",
        "Objective",
        "StopCondition",
        "StopEvent",
        "ObjectiveResult",
        "load_experiment_file",
        "load_result_file",
        "seed",
    ):
        assert name in aumai_chaos.__all__
        assert getattr(aumai_chaos, name) is not None
