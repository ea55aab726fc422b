"""Reading experiment files and saved results from disk.

:func:`load_experiment_file` and :func:`load_result_file` accept YAML (``.yaml``, ``.yml``) or JSON
(``.json``), chosen by suffix and otherwise by a look at the content. YAML is always loaded
safely (plain data only) and with limits on aliases, size and nesting. Whatever goes wrong, the
one exception is :class:`~aumai_chaos.ConfigError`, whose ``str()`` has one line for each problem
found (every one, up to :data:`MAX_LISTED_PROBLEMS`)::

    experiment.yaml:12:5: faults[1].probabilty: unknown field; did you mean 'probability'?
    experiment.yaml:14:17: faults[2].fault_type: input should be 'latency', ... (got 'latncy'); did
    you mean 'latency'?
"""

from __future__ import annotations

import difflib
import json
import os
import re
import stat
import types
from pathlib import Path
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from aumai_chaos.errors import ConfigError
from aumai_chaos.experiments.models import ChaosExperiment, ExperimentResult, LocatedProblemsError
from aumai_chaos.faults import FaultType

__all__ = [
    "MAX_EXPERIMENT_FILE_BYTES",
    "MAX_LISTED_PROBLEMS",
    "MAX_RESULT_FILE_BYTES",
    "load_experiment_file",
    "load_result_file",
]

#: Experiment files larger than this are refused (1 MiB).
MAX_EXPERIMENT_FILE_BYTES = 1 << 20
#: Saved results larger than this are refused (128 MiB).
MAX_RESULT_FILE_BYTES = 128 << 20
#: Nesting deeper than this is refused, in JSON as in YAML.
MAX_DEPTH = 64

#: Values written out in a YAML experiment (a few hundred in practice) or result; parsing costs
#: ~50 us a value, so these bound the time a file can take (see :mod:`._yaml_loader`).
_EXPERIMENT_NODES = 10_000
_RESULT_NODES = 100_000

_YAML_SUFFIXES = frozenset({".yaml", ".yml"})
_MAX_SHOWN_INPUT = 60
_MAX_PROBLEM = 300
#: A file with more problems than this lists these and counts the rest.
MAX_LISTED_PROBLEMS = 20

_M = TypeVar("_M", bound=BaseModel)
Location = tuple[int | None, int | None]


def load_experiment_file(path: str | os.PathLike[str]) -> ChaosExperiment:
    """Read and validate an experiment file.

    Raises :class:`~aumai_chaos.ConfigError` naming the file, the field and the problem (and for
    YAML the line and column) for anything wrong: a missing, empty, binary, oversized or
    non-UTF-8 file, a syntax error, a disallowed tag, an alias bomb, unknown keys, bad values.
    """
    return _load(path, ChaosExperiment, MAX_EXPERIMENT_FILE_BYTES, "experiment", _EXPERIMENT_NODES)


def load_result_file(path: str | os.PathLike[str]) -> ExperimentResult:
    """Read a result saved by ``aumai-chaos run --output`` (or ``--json-output``)."""
    return _load(path, ExperimentResult, MAX_RESULT_FILE_BYTES, "result", _RESULT_NODES)


def _load(
    path: str | os.PathLike[str], model: type[_M], max_bytes: int, what: str, max_nodes: int
) -> _M:
    source = os.fspath(path)
    raw = _read_bytes(source, max_bytes)
    text = _decode(source, raw)
    if not text.strip():
        raise ConfigError(f"file is empty; expected a YAML or JSON {what}", source=source)
    marks: dict[tuple[str | int, ...], tuple[Any, Any]] = {}
    if _is_yaml(source, text):
        data, marks = _parse_yaml(source, text, max_nodes)
    else:
        data = _parse_json(source, text)
    if data is None:
        raise ConfigError(f"file is empty (only comments); expected a {what}", source=source)
    if not isinstance(data, dict):
        raise ConfigError(
            f"the top level must be a mapping of {what} fields, not {_kind(data)}",
            source=source,
            line=1 if marks else None,
        )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _validation_error(source, model, exc, marks) from exc
    except RecursionError as exc:  # pragma: no cover - depth is limited before we get here
        raise ConfigError("nested too deeply", source=source) from exc


# -- reading ------------------------------------------------------------------------------------


def _read_bytes(source: str, max_bytes: int) -> bytes:
    try:
        info = os.stat(source)
    except (FileNotFoundError, NotADirectoryError) as exc:
        raise ConfigError("no such file", source=source) from exc
    except PermissionError as exc:
        raise ConfigError("permission denied", source=source) from exc
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read the file: {_reason(exc)}", source=source) from exc
    if stat.S_ISDIR(info.st_mode):
        raise ConfigError("is a directory, not a file", source=source)
    if not stat.S_ISREG(info.st_mode):
        raise ConfigError("not a regular file", source=source)
    too_large = f"file is too large (the limit is {_size(max_bytes)})"
    if info.st_size > max_bytes:
        raise ConfigError(too_large, source=source)
    try:
        with open(source, "rb") as stream:
            raw = stream.read(max_bytes + 1)
    except PermissionError as exc:
        raise ConfigError("permission denied", source=source) from exc
    except OSError as exc:
        raise ConfigError(f"cannot read the file: {_reason(exc)}", source=source) from exc
    if len(raw) > max_bytes:
        raise ConfigError(too_large, source=source)
    return raw


def _decode(source: str, raw: bytes) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ConfigError("file is UTF-16; save it as UTF-8", source=source)
    if b"\x00" in raw:
        raise ConfigError(
            "binary file (it contains NUL bytes); expected YAML or JSON text", source=source
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        bad = raw[exc.start : exc.start + 1].hex()
        raise ConfigError(
            f"not valid UTF-8 text (byte 0x{bad}); save the file as UTF-8",
            source=source,
            line=line,
        ) from exc


def _is_yaml(source: str, text: str) -> bool:
    suffix = Path(source).suffix.lower()
    if suffix in _YAML_SUFFIXES:
        return True
    if suffix == ".json":
        return False
    return not text.lstrip().startswith(("{", "["))


# -- parsing ------------------------------------------------------------------------------------


def _parse_yaml(
    source: str, text: str, max_nodes: int
) -> tuple[Any, dict[tuple[str | int, ...], Any]]:
    try:
        import yaml

        from aumai_chaos.experiments._yaml import RefusedYAML, load_yaml
    except ImportError as exc:  # pragma: no cover - PyYAML is a dependency
        raise ConfigError(
            "PyYAML required for YAML files: pip install pyyaml, or write the file as JSON",
            source=source,
        ) from exc
    try:
        return load_yaml(text, max_nodes)
    except RefusedYAML as exc:
        raise _marked(source, exc.problem or "refused", exc) from exc
    except yaml.MarkedYAMLError as exc:
        problem = exc.problem or exc.context or "syntax error"
        if exc.problem and exc.context:
            problem = f"{problem} ({exc.context})"
        raise _marked(source, f"invalid YAML: {problem}", exc) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {_one_line(str(exc))}", source=source) from exc
    except RecursionError as exc:
        raise ConfigError("nested too deeply", source=source) from exc
    except (ValueError, OverflowError, TypeError) as exc:
        raise ConfigError(f"invalid value: {_one_line(str(exc))}", source=source) from exc


def _marked(source: str, problem: str, exc: Any) -> ConfigError:
    mark = exc.problem_mark or exc.context_mark
    return ConfigError(
        _one_line(problem),
        source=source,
        line=mark.line + 1 if mark is not None else None,
        column=mark.column + 1 if mark is not None else None,
    )


class _DuplicateKeyError(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKeyError(key)
        result[key] = value
    return result


def _parse_json(source: str, text: str) -> Any:
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"invalid JSON: {exc.msg}", source=source, line=exc.lineno, column=exc.colno
        ) from exc
    except _DuplicateKeyError as exc:
        raise ConfigError(f"invalid JSON: duplicate key {exc.args[0]!r}", source=source) from exc
    except RecursionError as exc:
        raise ConfigError(
            f"nested too deeply (more than {MAX_DEPTH} levels)", source=source
        ) from exc
    except ValueError as exc:
        raise ConfigError(f"invalid JSON: {_one_line(str(exc))}", source=source) from exc
    if _depth(data) > MAX_DEPTH:
        raise ConfigError(f"nested too deeply (more than {MAX_DEPTH} levels)", source=source)
    return data


def _depth(data: Any) -> int:
    deepest = 0
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > MAX_DEPTH:
            break
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return deepest


# -- validation errors --------------------------------------------------------------------------


def _validation_error(
    source: str,
    model: type[BaseModel],
    exc: ValidationError,
    marks: dict[tuple[str | int, ...], tuple[Any, Any]],
) -> ConfigError:
    """Every problem of the file, one line each (at most :data:`MAX_LISTED_PROBLEMS`)."""
    errors = [part for e in exc.errors(include_url=False) for part in _located(e)]
    problems = [_problem(source, model, e, marks) for e in errors[:MAX_LISTED_PROBLEMS]]
    problems.sort(key=lambda p: (p.line is None, p.line or 0, p.column or 0))
    if len(errors) > MAX_LISTED_PROBLEMS:
        more = len(errors) - MAX_LISTED_PROBLEMS
        problems.append(ConfigError(f"... and {more} more problem(s)", source=source))
    first, *rest = problems
    return ConfigError(
        first.problem,
        source=first.source,
        field=first.field,
        line=first.line,
        column=first.column,
        more=rest,
    )


def _located(error: Any) -> list[Any]:
    """A model-level :class:`LocatedProblemsError` error as one error per problem, at its field."""
    cause = error.get("ctx", {}).get("error") if error["type"] == "value_error" else None
    if not isinstance(cause, LocatedProblemsError):
        return [error]
    return [
        {"type": "located", "loc": (*error["loc"], *loc), "msg": message}
        for loc, message in cause.problems
    ]


def _problem(
    source: str,
    model: type[BaseModel],
    error: Any,
    marks: dict[tuple[str | int, ...], tuple[Any, Any]],
) -> ConfigError:
    raw_loc = tuple(p for p in error["loc"] if isinstance(p, (str, int)))
    loc = _without_tags(model, raw_loc)
    kind = error["type"]
    if kind == "union_tag_invalid":
        # An unknown fault_type: name the field itself and the close known type.
        loc = (*loc, "fault_type")
        tag = str(error.get("ctx", {}).get("tag", ""))
        problem = f"unknown fault type {_shorten(repr(tag))}"
        close = difflib.get_close_matches(tag, [t.value for t in FaultType], n=1, cutoff=0.6)
        problem += f"; did you mean {close[0]!r}?" if close else ""
    elif kind == "union_tag_not_found":
        loc = (*loc, "fault_type")
        kind, problem = "missing", "required field is missing"
    elif kind == "missing":
        problem = "required field is missing"
    elif kind == "located":
        problem = error["msg"]
    elif kind == "extra_forbidden":
        problem = "unknown field"
        allowed = _fields_at(model, raw_loc[:-1])
        if loc and isinstance(loc[-1], str) and allowed:
            close = difflib.get_close_matches(loc[-1], sorted(allowed), n=1, cutoff=0.6)
            if close:
                problem += f"; did you mean {close[0]!r}?"
            else:
                problem += f" (allowed: {', '.join(sorted(allowed))})"
    else:
        problem = error["msg"].removeprefix("Value error, ")
        problem = problem[:1].lower() + problem[1:]
        shown = error.get("input")
        if not isinstance(shown, (dict, list, tuple)):
            problem += f" (got {_shorten(repr(shown))})"
            if kind == "enum" and isinstance(shown, str):
                problem += _did_you_mean_value(shown, error.get("ctx", {}).get("expected", ""))
    line, column = _locate(loc, kind, marks)
    return ConfigError(
        _one_line(problem), source=source, field=_field_path(loc) or None, line=line, column=column
    )


def _did_you_mean_value(value: str, expected: str) -> str:
    """A "did you mean" for a misspelt enum value such as ``fault_type: latncy``."""
    options = re.findall(r"'([^']*)'", expected)
    close = difflib.get_close_matches(value, options, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _field_path(loc: tuple[str | int, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
            continue
        # A key from the file may hold a line break or be huge: keep the message one short line.
        name = part if part.isprintable() and part.strip() == part and part else repr(part)
        name = _shorten(name)
        out += f".{name}" if out else name
    return out


def _locate(
    loc: tuple[str | int, ...], kind: str, marks: dict[tuple[str | int, ...], tuple[Any, Any]]
) -> Location:
    for end in range(len(loc), -1, -1):
        found = marks.get(loc[:end])
        if found is None:
            continue
        key_mark, value_mark = found
        mark = key_mark if (kind == "extra_forbidden" and key_mark is not None) else value_mark
        if kind == "missing" and end == len(loc):  # pragma: no cover - a missing key has no mark
            mark = value_mark
        return mark.line + 1, mark.column + 1
    return None, None


def _tagged_member(annotation: Any, tag: str) -> Any:
    """The member of a tagged union of models whose ``fault_type`` tag is ``tag``, if any."""
    if get_origin(annotation) not in (Union, types.UnionType):
        return None
    for member in get_args(annotation):
        if isinstance(member, type) and issubclass(member, BaseModel):
            field = member.model_fields.get("fault_type")
            if field is not None and str(field.default) == tag:
                return member
    return None


def _without_tags(model: type[BaseModel], loc: tuple[str | int, ...]) -> tuple[str | int, ...]:
    """``loc`` without the tag pydantic puts in the path of a tagged union's member."""
    current: Any = model
    out: list[str | int] = []
    for part in loc:
        current = _unwrap(current)
        if isinstance(part, str) and (member := _tagged_member(current, part)) is not None:
            current = member
            continue
        out.append(part)
        if isinstance(part, int):
            args = get_args(current)
            current = args[0] if get_origin(current) in (list, tuple) and args else None
        elif isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(part)
            current = field.annotation if field is not None else None
        else:
            current = None
    return tuple(out)


def _unwrap(annotation: Any) -> Any:
    origin = get_origin(annotation)
    if origin is Annotated:
        return _unwrap(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        options = [a for a in get_args(annotation) if a is not type(None)]
        return _unwrap(options[0]) if len(options) == 1 else annotation
    return annotation


def _fields_at(model: type[BaseModel], loc: tuple[str | int, ...]) -> set[str]:
    """The field names of the model found at ``loc`` inside ``model`` (empty if none)."""
    current: Any = model
    for part in loc:
        current = _unwrap(current)
        if isinstance(part, str) and (member := _tagged_member(current, part)) is not None:
            current = member
        elif isinstance(part, int):
            if get_origin(current) not in (list, tuple) or not get_args(current):
                return set()
            current = get_args(current)[0]
        elif isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(part)
            if field is None:
                return set()
            current = field.annotation
        else:
            return set()
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return set(current.model_fields)
    return set()


# -- small helpers ------------------------------------------------------------------------------


def _kind(data: Any) -> str:
    names = {list: "a list", str: "a string", int: "a number", float: "a number", bool: "a boolean"}
    return names.get(type(data), f"a {type(data).__name__}")


def _size(n: int) -> str:
    return f"{n >> 20} MiB" if n >= 1 << 20 else f"{n} bytes"


def _reason(exc: BaseException) -> str:
    return (getattr(exc, "strerror", None) or str(exc)).strip() or type(exc).__name__


def _shorten(text: str) -> str:
    return text if len(text) <= _MAX_SHOWN_INPUT else text[: _MAX_SHOWN_INPUT - 3] + "..."


def _one_line(text: str) -> str:
    """``text`` on one short line: a tag, an alias or a key from the file may be 1 MB long."""
    text = " ".join(text.split())
    text = re.sub(rf"\S{{{_MAX_SHOWN_INPUT + 1},}}", lambda m: _shorten(m.group()), text)
    return text if len(text) <= _MAX_PROBLEM else text[: _MAX_PROBLEM - 3] + "..."
