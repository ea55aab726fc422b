"""No private type leaks through a public signature.

Every public module of ``aumai_chaos`` (no part of its dotted name starts with ``_``) lists its
API in ``__all__``. For each symbol there (a function, a class with its public methods,
properties and attribute annotations, an annotated module constant) the type hints are resolved
as a type checker would, forward references and ``if TYPE_CHECKING:`` imports included, and each
type they mention must be one a user can name: defined in a public module, or re-exported by
one. A type defined in a private module (``aumai_chaos._engine.act.Firing``,
``aumai_chaos.experiments._recorder.CallRecorder``) that no public module exports is a leak:
users could neither import it nor rely on it, and its next change would break them silently.
"""

from __future__ import annotations

import ast
import builtins
import importlib
import inspect
import pkgutil
import sys
import textwrap
import types
import typing
from collections.abc import Callable, Iterator, Mapping
from functools import cache, cached_property
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypeVar, get_args, get_origin

import aumai_chaos
from aumai_chaos._engine import act

if TYPE_CHECKING:  # resolved by namespace(), as for the library's own modules
    from aumai_chaos._engine.act import Firing

ROOT = "aumai_chaos"
#: Dunders that are part of a class's public API.
PUBLIC_DUNDERS = ("__init__", "__call__", "__enter__", "__aenter__")


def _private(module: str) -> bool:
    return any(part.startswith("_") for part in module.split("."))


def public_modules() -> list[types.ModuleType]:
    """``aumai_chaos`` and every public module under it, imported."""
    names = [ROOT]
    for info in pkgutil.walk_packages(aumai_chaos.__path__, f"{ROOT}."):
        if not _private(info.name):
            names.append(info.name)
    return [importlib.import_module(name) for name in names]


@cache
def exported() -> frozenset[int]:
    """The ids of every object some public module lists in ``__all__``."""
    return frozenset(
        id(getattr(module, name))
        for module in public_modules()
        for name in getattr(module, "__all__", ())
    )


@cache
def namespace(module_name: str) -> dict[str, Any]:
    """The module's globals plus what its ``if TYPE_CHECKING:`` blocks import."""
    module = sys.modules[module_name]
    ns = dict(vars(module))
    try:
        tree = ast.parse(inspect.getsource(module))
    except (OSError, TypeError):  # pragma: no cover - no source
        return ns
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.If)
            and isinstance(node.test, ast.Name | ast.Attribute)
            and ast.unparse(node.test).endswith("TYPE_CHECKING")
        ):
            block = ast.Module(body=node.body, type_ignores=[])
            exec(compile(block, module.__file__ or module_name, "exec"), ns)
    return ns


@cache
def foreign(module_name: str) -> tuple[dict[str, Any], ...]:
    """The namespaces of the other libraries' modules that ``module_name`` imports from."""
    tree = ast.parse(inspect.getsource(sys.modules[module_name]))
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.ImportFrom)
            and node.module
            and not node.level
            and node.module.partition(".")[0] != ROOT
        ):
            found.append(vars(importlib.import_module(node.module)))
    return tuple(found)


class Names(Mapping[str, Any]):
    """The local names of an evaluation. A name that neither the module nor the builtins
    define is looked up in the other libraries' modules it imports from: an alias imported
    from one may name its parts by string (OpenTelemetry's recursive ``AnyValue``)."""

    def __init__(self, module: str, local: Mapping[str, Any] | None) -> None:
        self.local = dict(local or {})
        self.module = module

    def __getitem__(self, name: str) -> Any:
        if name in self.local:
            return self.local[name]
        if name not in namespace(self.module) and name not in vars(builtins):
            for names in foreign(self.module):
                if name in names:
                    return names[name]
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self.local)

    def __len__(self) -> int:
        return len(self.local)


def _types_in(hint: Any) -> Iterator[Any]:
    """Every class (or unresolved name) a resolved hint mentions, however deeply nested."""
    if isinstance(hint, TypeVar):
        if hint.__bound__ is not None:
            yield from _types_in(hint.__bound__)
        for constraint in hint.__constraints__:
            yield from _types_in(constraint)
        return
    if isinstance(hint, str | typing.ForwardRef):
        yield hint  # left unresolved (or a recursive alias's reference to itself)
        return
    if isinstance(hint, list | tuple):  # Callable's parameters
        for item in hint:
            yield from _types_in(item)
        return
    origin = get_origin(hint)
    if origin is None:
        if isinstance(hint, type):
            yield hint
        return
    yield from _types_in(origin)
    if origin is Literal:
        return
    for arg in get_args(hint):
        yield from _types_in(arg)


def _hints(owner: Any, module: str, localns: dict[str, Any] | None = None) -> dict[str, Any]:
    names: Any = Names(module, localns)
    return typing.get_type_hints(owner, globalns=namespace(module), localns=names)


def _own_annotations(cls: type) -> dict[str, Any]:
    """The public attribute annotations ``cls`` itself declares, resolved in its module."""
    ann = {k: v for k, v in inspect.get_annotations(cls).items() if k[0] != "_"}
    if not ann:
        return {}
    holder = type("Holder", (), {"__annotations__": ann, "__module__": cls.__module__})
    return _hints(holder, cls.__module__, dict(vars(cls)))


def _instance_annotations(cls: type) -> dict[str, Any]:
    """The public attributes ``cls.__init__`` sets on ``self``, typed as a checker types them:
    ``self.x: T = ...`` is a ``T``; ``self.x = param`` has the parameter's type."""
    init = cls.__dict__.get("__init__")
    if not inspect.isfunction(init):
        return {}
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(init)))
    except (OSError, TypeError, SyntaxError):  # pragma: no cover - no source
        return {}
    params = _hints(init, init.__module__)
    found: dict[str, Any] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.AnnAssign):
            target, annotation = node.target, ast.unparse(node.annotation)
        elif isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, annotation = node.targets[0], None
        else:
            continue
        if not (
            isinstance(target, ast.Attribute)
            and isinstance(target.value, ast.Name)
            and target.value.id == "self"
            and target.attr[0] != "_"
        ):
            continue
        if annotation is not None:
            holder = type("Holder", (), {"__annotations__": {target.attr: annotation}})
            holder.__module__ = cls.__module__
            found.update(_hints(holder, cls.__module__, dict(vars(cls))))
        elif isinstance(node.value, ast.Name) and node.value.id in params:
            found.setdefault(target.attr, params[node.value.id])
    return found


def _functions(member: Any) -> Iterator[tuple[str, Callable[..., Any]]]:
    if isinstance(member, staticmethod | classmethod):
        member = member.__func__
    if isinstance(member, property):
        for part, func in (("", member.fget), (".setter", member.fset)):
            if func is not None:
                yield part, func
        return
    if isinstance(member, cached_property):
        member = member.func
    if inspect.isfunction(member):
        yield "", member


def symbols() -> Iterator[tuple[str, str, Callable[[], dict[str, Any]]]]:
    """(name, module, resolver of its hints) for every public symbol, each object once."""
    seen: set[int] = set()
    for module in public_modules():
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            where = f"{module.__name__}.{name}"
            if id(obj) in seen:
                continue
            seen.add(id(obj))
            annotations = vars(module).get("__annotations__", {})
            if name in annotations:
                yield (
                    where,
                    module.__name__,
                    lambda m=module, n=name: {n: _hints(m, m.__name__)[n]},
                )
            if inspect.isclass(obj):
                yield from _class_symbols(where, obj)
            elif inspect.isfunction(obj):
                yield where, obj.__module__, lambda f=obj: _hints(f, f.__module__)


def _class_symbols(
    where: str, cls: type
) -> Iterator[tuple[str, str, Callable[[], dict[str, Any]]]]:
    for klass in cls.__mro__:
        if not klass.__module__.startswith(ROOT) or (klass is not cls and id(klass) in exported()):
            continue  # another library's, or a public base walked as itself
        yield where, klass.__module__, lambda k=klass: _own_annotations(k)
        yield where, klass.__module__, lambda k=klass: _instance_annotations(k)
        for attr, member in vars(klass).items():
            if attr[0] == "_" and attr not in PUBLIC_DUNDERS:
                continue
            for part, func in _functions(member):
                if getattr(func, "__module__", "").startswith(ROOT):
                    yield (
                        f"{where}.{attr}{part}",
                        func.__module__,
                        lambda f=func: _hints(f, f.__module__),
                    )


def _resolves(name: str, module: str) -> bool:
    try:
        Names(module, None)[name]
    except KeyError:
        return name in namespace(module)
    return True


def leaks() -> list[str]:
    found: list[str] = []
    public = exported()
    for where, module, resolve in symbols():
        try:
            hints = resolve()
        except Exception as exc:
            found.append(f"{where}: its type hints do not resolve ({exc!r})")
            continue
        for name, hint in hints.items():
            for kind in _types_in(hint):
                if isinstance(kind, str | typing.ForwardRef):
                    # Left by the guard against endless recursion: walked already.
                    ref = kind if isinstance(kind, str) else kind.__forward_arg__
                    if not _resolves(ref, module):
                        found.append(f"{where} ({name}): {kind!r} does not resolve")
                elif (
                    kind.__module__.startswith(ROOT)
                    and _private(kind.__module__)
                    and id(kind) not in public
                ):
                    found.append(
                        f"{where} ({name}): {kind.__module__}.{kind.__qualname__} is private"
                    )
    return sorted(set(found))


def test_the_walk_covers_the_public_modules_and_their_apis() -> None:
    names = {m.__name__ for m in public_modules()}
    for expected in (
        "aumai_chaos",
        "aumai_chaos.transport",
        "aumai_chaos.transport.routes",
        "aumai_chaos.mcp",
        "aumai_chaos.proxy",
        "aumai_chaos.experiments",
        "aumai_chaos.testing",
        "aumai_chaos.faults",
        "aumai_chaos.pytest_plugin",
    ):
        assert expected in names
    assert not any(_private(name) for name in names)
    walked = {where for where, _, _ in symbols()}
    # A method of a re-exported class, a property, a module function: all walked.
    assert "aumai_chaos.transport.FaultContext.act" in walked
    assert "aumai_chaos.transport.FaultContext.fault" in walked
    assert "aumai_chaos.transport.is_instrumented" in walked


def test_the_check_finds_a_private_type_in_a_public_signature() -> None:
    def leaky(firing: Firing) -> None: ...  # a forward reference, imported for type checking

    hints = _hints(leaky, __name__)
    (kind,) = _types_in(hints["firing"])
    assert kind is act.Firing
    assert _private(kind.__module__)
    assert id(kind) not in exported()
    # However deeply nested, in a class attribute as in a signature.
    assert act.Firing in set(_types_in(dict[str, list[act.Firing | None]]))

    class Holder:
        slot: ClassVar[Firing | None] = None
        public: Callable[[Firing], None]

        def __init__(self, firing: Firing) -> None:
            self.firing = firing
            self.later: list[Firing] = []

    resolved = _own_annotations(Holder)
    assert act.Firing in set(_types_in(resolved["slot"]))
    assert act.Firing in set(_types_in(resolved["public"]))
    assigned = _instance_annotations(Holder)
    assert set(_types_in(assigned["firing"])) == {act.Firing}
    assert set(_types_in(assigned["later"])) == {list, act.Firing}


def test_no_private_type_leaks_through_a_public_signature() -> None:
    found = leaks()
    assert found == [], "\n".join(found)
