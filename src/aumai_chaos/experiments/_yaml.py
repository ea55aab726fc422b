"""A YAML loader hardened for files that strangers hand us.

Built on ``yaml.SafeLoader`` (plain data only, never Python objects) with four more refusals, each
raised as :class:`RefusedYAML` carrying the position of the offending node:

- any tag that would construct something beyond plain data (``!!python/object:...`` and friends),
  with a message that says so instead of PyYAML's "could not determine a constructor";
- a key repeated in one mapping (YAML would silently keep the last one);
- more than :data:`MAX_ALIASES` aliases, recursive aliases, or a document that expands to more than
  :data:`MAX_NODES` nodes ("billion laughs");
- a document of more than :data:`MAX_WRITTEN_NODES` nodes as written, refused as soon as the
  parser reaches the next one: the pure-Python parser spends ~50 us and a few hundred bytes per
  node, so a 1 MiB file of ``[1,1,1,...`` would otherwise take half a minute and ~400 MB;
- nesting deeper than :data:`MAX_DEPTH`.

Importing this module imports PyYAML; :mod:`aumai_chaos.config` imports it lazily.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.error import Mark
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

__all__ = ["MAX_ALIASES", "MAX_DEPTH", "MAX_NODES", "MAX_WRITTEN_NODES", "RefusedYAML", "load_yaml"]

MAX_ALIASES = 100
MAX_DEPTH = 64
MAX_NODES = 100_000
#: Nodes (scalars, sequences, mappings) written out in one document, aliases not counted: an
#: experiment file holds a few hundred.
MAX_WRITTEN_NODES = 10_000

_MERGE_TAG = "tag:yaml.org,2002:merge"
_STANDARD_PREFIX = "tag:yaml.org,2002:"

#: A path into a document (mapping keys and sequence indexes) -> (key mark, value mark).
Marks = dict[tuple[str | int, ...], tuple[Mark | None, Mark]]


class RefusedYAML(yaml.MarkedYAMLError):
    """A well-formed YAML document that we nevertheless refuse to load."""

    def __init__(self, problem: str, mark: Mark | None) -> None:
        super().__init__(problem=problem, problem_mark=mark)


def _tag_name(tag: str) -> str:
    return "!!" + tag[len(_STANDARD_PREFIX) :] if tag.startswith(_STANDARD_PREFIX) else tag


_BOOL_TAG = "tag:yaml.org,2002:bool"
_STR_TAG = "tag:yaml.org,2002:str"


class _HardenedLoader(yaml.SafeLoader):
    def __init__(self, stream: str, max_written_nodes: int = MAX_WRITTEN_NODES) -> None:
        super().__init__(stream)
        self._aliases = 0
        self._depth = 0
        self._nodes = 0
        self._max_nodes = max_written_nodes

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise RefusedYAML(
                    f"too many aliases (more than {MAX_ALIASES}); expand them by hand",
                    self._next_mark(),
                )
            return super().compose_node(parent, index)
        self._nodes += 1
        if self._nodes > self._max_nodes:
            raise RefusedYAML(
                f"too many values: the document holds more than {self._max_nodes}",
                self._next_mark(),
            )
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise RefusedYAML(
                    f"nested too deeply (more than {MAX_DEPTH} levels)",
                    self._next_mark(),
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def _next_mark(self) -> Mark | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        mark: Mark | None = getattr(event, "start_mark", None)
        return mark

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, MappingNode):
            seen: dict[tuple[str, str], Mark] = {}
            for key_node, _ in node.value:
                if not isinstance(key_node, ScalarNode) or key_node.tag == _MERGE_TAG:
                    continue
                key = (key_node.tag, key_node.value)
                first = seen.get(key)
                if first is not None:
                    raise RefusedYAML(
                        f"duplicate key {key_node.value!r} (first at line {first.line + 1})",
                        key_node.start_mark,
                    )
                seen[key] = key_node.start_mark
                if key_node.tag == _BOOL_TAG and key_node.style is None:
                    # YAML 1.1 reads a bare ``on:`` / ``yes:`` key as a boolean; every key of an
                    # experiment file is a name (an objective's ``on: lower`` first of all).
                    key_node.tag = _STR_TAG
        return super().construct_mapping(node, deep=deep)

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        # A standard tag on a value it cannot read (``!!timestamp ''``, ``!!int abc``) makes
        # PyYAML's constructors raise plain Python errors; refuse it at the node instead.
        try:
            return super().construct_object(node, deep=deep)
        except yaml.YAMLError:
            raise
        except (ValueError, TypeError, AttributeError, OverflowError) as exc:
            shown = f" {str(node.value)[:60]!r}" if isinstance(node, ScalarNode) else ""
            raise RefusedYAML(
                f"invalid value{shown}: not a valid {_tag_name(node.tag)} (quote a value to "
                "keep it a string)",
                node.start_mark,
            ) from exc

    def construct_undefined(self, node: Node) -> Any:
        raise RefusedYAML(
            f"tag {_tag_name(node.tag)!r} is not allowed: experiment files hold plain data "
            "only, never Python objects",
            node.start_mark,
        )


_HardenedLoader.add_constructor(None, _HardenedLoader.construct_undefined)


def _children(node: Node) -> list[Node]:
    if isinstance(node, MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, SequenceNode):
        return list(node.value)
    return []


def _check_expansion(root: Node) -> None:
    """Refuse recursive aliases and documents that expand past MAX_NODES or MAX_DEPTH.

    Iterative post-order walk of the node graph, memoized per node, so shared (aliased) nodes are
    measured once however often they are referenced.
    """
    measured: dict[int, tuple[int, int]] = {}  # id(node) -> (expanded node count, depth)
    on_path: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        nid = id(node)
        if done:
            on_path.discard(nid)
            kids = [measured[id(k)] for k in _children(node)]
            count = 1 + sum(c for c, _ in kids)
            depth = 1 + max((d for _, d in kids), default=0)
            if count > MAX_NODES:
                raise RefusedYAML(
                    f"aliases expand this document past {MAX_NODES} nodes (an alias bomb?)",
                    node.start_mark,
                )
            if depth > MAX_DEPTH:
                raise RefusedYAML(
                    f"aliases nest this document too deeply (more than {MAX_DEPTH} levels)",
                    node.start_mark,
                )
            measured[nid] = (count, depth)
            continue
        if nid in measured:
            continue
        if nid in on_path:
            raise RefusedYAML("recursive alias: a node contains itself", node.start_mark)
        on_path.add(nid)
        stack.append((node, True))
        stack.extend((kid, False) for kid in _children(node) if id(kid) not in measured)


def _collect_marks(root: Node) -> Marks:
    """Where each path of the document starts, to point validation errors at a line."""
    marks: Marks = {(): (None, root.start_mark)}
    stack: list[tuple[tuple[str | int, ...], Node]] = [((), root)]
    while stack and len(marks) <= MAX_NODES:
        path, node = stack.pop()
        if isinstance(node, MappingNode):
            for key_node, value_node in node.value:
                if isinstance(key_node, ScalarNode):
                    sub = (*path, key_node.value)
                    marks[sub] = (key_node.start_mark, value_node.start_mark)
                    stack.append((sub, value_node))
        elif isinstance(node, SequenceNode):
            for index, item in enumerate(node.value):
                sub = (*path, index)
                marks[sub] = (None, item.start_mark)
                stack.append((sub, item))
    return marks


def load_yaml(text: str, max_written_nodes: int = MAX_WRITTEN_NODES) -> tuple[Any, Marks]:
    """Parse one YAML document; returns the data (``None`` when empty) and its node marks.

    ``max_written_nodes`` bounds the nodes written out (see :data:`MAX_WRITTEN_NODES`).

    Raises ``yaml.YAMLError`` (``RefusedYAML`` for our own refusals) and, for values Python
    cannot build (a date of month 13, an integer of 10,000 digits), ``ValueError``.
    """
    loader = _HardenedLoader(text, max_written_nodes)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, {}
        _check_expansion(node)
        data = loader.construct_document(node)
        return data, _collect_marks(node)
    finally:
        loader.dispose()
