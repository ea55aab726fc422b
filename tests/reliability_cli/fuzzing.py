"""Input generators and bounds for the loader fuzz tests: a YAML-ish grammar (mappings, sequences,
scalars in every style, anchors, aliases, tags, directives, comments), byte-level damage (NUL,
invalid UTF-8, BOMs, other encodings, truncation), and the worst cases built from a few drawn
parameters (deep nesting, huge scalars, alias bombs, many values, random bytes) so that a 2 MB
input costs Hypothesis a handful of choices, not two million.

A case is *bounded* when loading it takes less than :func:`time_budget` of its size and the
process's peak memory grows by less than :data:`MEMORY_LIMIT` meanwhile. Peak memory is the
kernel's own high-water mark (``VmHWM``, reset before each case through
``/proc/self/clear_refs``), which costs nothing; where that is unavailable, ``tracemalloc``
(which slows the pure-Python YAML scanner tenfold, so only for small cases).
"""

from __future__ import annotations

import json
import random
import re
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from hypothesis import strategies as st

from aumai_chaos import ChaosExperiment, ConfigError
from aumai_chaos.experiments.files import MAX_EXPERIMENT_FILE_BYTES, load_experiment_file

MiB = 1 << 20
#: Every case loads within TIME_FLOOR_S plus TIME_PER_MIB_S per MiB of input. The pure-Python
#: YAML scanner is linear but slow on some shapes: ~4 s for 1 MiB of one-character lines here.
TIME_FLOOR_S = 2.0
TIME_PER_MIB_S = 8.0
#: Peak memory growth allowed while one case loads.
MEMORY_LIMIT = 200 * MiB
#: The problem part of an error message (after the file name) stays shorter than this.
MAX_PROBLEM_CHARS = 600

SUFFIXES = (".yaml", ".yml", ".json", ".txt", "")


def time_budget(size: int) -> float:
    return TIME_FLOOR_S + TIME_PER_MIB_S * size / MiB


# -- measuring ----------------------------------------------------------------------------------

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def _status_bytes(field: str) -> int:
    found = re.search(rf"^{field}:\s+(\d+) kB", _STATUS.read_text(encoding="ascii"), re.M)
    if found is None:
        raise OSError(f"no {field} in {_STATUS}")
    return int(found.group(1)) * 1024


def _reset_peak() -> None:
    _CLEAR_REFS.write_text("5", encoding="ascii")  # "5": reset the peak RSS (Linux >= 4.0)


def _kernel_peak_works() -> bool:
    try:
        _reset_peak()
        return _status_bytes("VmHWM") > 0
    except OSError:
        return False


KERNEL_PEAK = _kernel_peak_works()


@dataclass
class Outcome:
    experiment: ChaosExperiment | None
    message: str | None
    seconds: float
    peak_bytes: int


def load_measured(path: Path) -> Outcome:
    """``load_experiment_file(path)``, timed and with its peak memory; a ConfigError is kept,
    any other exception propagates (and fails the test)."""
    if KERNEL_PEAK:
        _reset_peak()
        base = _status_bytes("VmRSS")
    else:
        tracemalloc.start()
    experiment: ChaosExperiment | None = None
    message: str | None = None
    started = time.perf_counter()
    try:
        experiment = load_experiment_file(path)
    except ConfigError as exc:
        message = str(exc)
    finally:
        seconds = time.perf_counter() - started
        if KERNEL_PEAK:
            peak = _status_bytes("VmHWM") - base
        else:
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
    return Outcome(experiment, message, seconds, peak)


#: A file with more problems lists this many lines, and one that counts the rest.
MAX_PROBLEM_LINES = 21


def assert_one_clear_line(message: str, path: Path | str) -> None:
    """One line per problem (at most MAX_PROBLEM_LINES), each starting with the file's name
    and staying short."""
    lines = message.split("\n")
    assert 1 <= len(lines) <= MAX_PROBLEM_LINES, repr(message[:300])
    for line in lines:
        assert line.startswith(f"{path}:"), line[:300]
        assert line.splitlines() == [line], repr(line[:300])
        assert line == line.strip(), repr(line[:300])
        assert len(line) < len(str(path)) + MAX_PROBLEM_CHARS, line[:600]


def check_bounded(path: Path) -> Outcome:
    """Load ``path``: a ChaosExperiment or one clear ConfigError line, within the bounds."""
    size = path.stat().st_size
    outcome = load_measured(path)
    assert outcome.seconds < time_budget(size), (size, outcome.seconds, outcome.message)
    assert outcome.peak_bytes < MEMORY_LIMIT, (size, outcome.peak_bytes, outcome.message)
    if outcome.experiment is not None:
        assert isinstance(outcome.experiment, ChaosExperiment)
    else:
        assert outcome.message is not None
        assert_one_clear_line(outcome.message, path)
    return outcome


# -- the grammar --------------------------------------------------------------------------------

#: Words an experiment file would hold, words YAML 1.1 reads as other types, and indicators.
WORDS = [
    "experiment_id",
    "name",
    "duration_seconds",
    "tick_seconds",
    "faults",
    "fault_type",
    "latency",
    "error",
    "timeout",
    "probability",
    "duration_ms",
    "error_code",
    "affected_components",
    "target_components",
    "steady_state",
    "stop_conditions",
    "workload",
    "target",
    "seed",
    "tool_executor",
    "x",
    "~",
    "null",
    "yes",
    "No",
    "on",
    "OFF",
    "true",
    "y",
    ".inf",
    "-.Inf",
    ".nan",
    "0x1F",
    "0o17",
    "017",
    "0b101",
    "1_000",
    "1:20:30",
    "1e3",
    "-0",
    "1.5",
    "1e999",
    "9" * 40,
    "2001-12-14t21:59:43.10-05:00",
    "2002-12-14",
    "2024-13-45",
    "<<",
    "=",
    "-",
    "?",
    ":",
    ",",
    "#",
    "@",
    "`",
    "%",
    "|",
    ">",
]
#: Characters that break writers and readers: line and paragraph separators, NEL, BOM,
#: zero-width and bidi controls, combining marks, astral characters, C0/C1 controls. (NUL and
#: lone surrogates, which stop a file before its YAML is read, come with the damage below.)
WEIRD = [
    "\u2028",
    "\u2029",
    "\x85",
    "\ufeff",
    "\u200b",
    "\u202e",
    "e\u0301",
    "\U0001f4a5",
    "\U0010ffff",
    "\x1b",
    "\x7f",
    "\x9f",
    "\t",
    "\r",
    "\x0c",
    "\\",
    "'",
    '"',
]
TAGS = [
    "!!python/object:os.system",
    "!!python/object/apply:os.system",
    "!!python/object/new:builtins.dict",
    "!!python/name:os.system",
    "!!python/module:os",
    "!!python/tuple",
    "!!binary",
    "!!set",
    "!!omap",
    "!!pairs",
    "!!timestamp",
    "!!int",
    "!!float",
    "!!bool",
    "!!null",
    "!!str",
    "!!seq",
    "!!map",
    "!!merge",
    "!!value",
    "!custom",
    "!",
    "!<tag:yaml.org,2002:str>",
    "!<tag:example.com,2000:x>",
    "!e!tag%21",
]
ANCHORS = ["a", "b", "c", "long" * 8, "\u00e9"]

text_piece = st.one_of(
    st.sampled_from(WORDS),
    st.sampled_from(WORDS),
    st.sampled_from(WEIRD),
    st.text(st.characters(exclude_categories=("Cs", "Cc")), max_size=12),
    st.text(st.characters(), max_size=4),  # any code point but surrogates
)
scalar_text = st.lists(text_piece, max_size=4).map("".join)


@st.composite
def scalars(draw: st.DrawFn) -> str:
    """A scalar in one of YAML's five styles (or a raw escape sequence, valid or not)."""
    text = draw(scalar_text)
    style = draw(st.sampled_from(["plain", "single", "double", "json", "escape", "block"]))
    if style == "plain":
        return text
    if style == "single":
        return "'" + text.replace("'", "''") + "'"
    if style == "double":
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if style == "json":
        return json.dumps(text, ensure_ascii=draw(st.booleans()))
    if style == "escape":
        escape = draw(
            st.sampled_from(
                [
                    r"\x41",
                    r"\x4",
                    r"\u00e9",
                    r"\uD800",
                    r"\U0010FFFF",
                    r"\U00110000",
                    r"\N",
                    r"\_",
                    r"\q",
                    "\\",
                ]
            )
        )
        return f'"{text.replace(chr(34), "")}{escape}"'
    indicator = draw(st.sampled_from(["|", ">", "|-", ">+", "|2", "|9", ">-1"]))
    return indicator + "\n" + "\n".join("  " + line for line in text.split("\n"))


# A node is (kind, payload, anchor, tag, flow).
Node = tuple[str, Any, str | None, str | None, bool]

_props = st.tuples(
    st.one_of(st.none(), st.none(), st.sampled_from(ANCHORS)),
    st.one_of(st.none(), st.none(), st.none(), st.sampled_from(TAGS)),
)
_leaves = st.one_of(
    st.builds(lambda s, p: ("scalar", s, p[0], p[1], False), scalars(), _props),
    st.builds(lambda a: ("alias", a, None, None, False), st.sampled_from(ANCHORS)),
)


def _branches(children: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
    return st.one_of(
        st.builds(
            lambda items, p, flow: ("seq", items, p[0], p[1], flow),
            st.lists(children, max_size=5),
            _props,
            st.booleans(),
        ),
        st.builds(
            lambda pairs, p, flow: ("map", pairs, p[0], p[1], flow),
            st.lists(st.tuples(children, children), max_size=5),
            _props,
            st.booleans(),
        ),
    )


nodes: st.SearchStrategy[Node] = st.recursive(_leaves, _branches, max_leaves=25)


def _properties(node: Node) -> str:
    _, _, anchor, tag, _ = node
    return " ".join(p for p in (f"&{anchor}" if anchor else "", tag or "") if p)


def _inline(node: Node) -> str:
    """The node on one line (flow style)."""
    kind, payload, *_ = node
    props = _properties(node)
    if kind == "alias":
        return f"*{payload}"
    if kind == "scalar":
        body = json.dumps(payload) if _is_block_scalar(node) else payload
    elif kind == "seq":
        body = "[" + ", ".join(_inline(item) for item in payload) + "]"
    else:
        body = "{" + ", ".join(f"{_inline(k)}: {_inline(v)}" for k, v in payload) + "}"
    return f"{props} {body}" if props else body


def _is_block_scalar(node: Node) -> bool:
    return node[0] == "scalar" and node[1].startswith(("|", ">"))


def _is_block(node: Node) -> bool:
    kind, payload, _, _, flow = node
    return kind in ("seq", "map") and not flow and bool(payload)


def _after_indicator(node: Node, indent: int) -> str:
    """What follows ``key:`` or ``-``: the node inline, or its properties and block lines."""
    if not _is_block(node):
        text = _inline(node)
        if _is_block_scalar(node):  # indented under us
            props = _properties(node)
            lines = node[1].split("\n")
            body = "\n".join([lines[0], *(" " * indent + line for line in lines[1:])])
            text = f"{props} {body}" if props else body
        return " " + text
    props = _properties(node)
    return (" " + props if props else "") + "\n" + _block(node, indent)


def _block(node: Node, indent: int) -> str:
    kind, payload, *_ = node
    pad = " " * indent
    lines = []
    if kind == "seq":
        for item in payload:
            lines.append(f"{pad}-{_after_indicator(item, indent + 2)}")
    else:
        for key, value in payload:
            if _is_block(key) or _is_block_scalar(key):
                lines.append(f"{pad}?{_after_indicator(key, indent + 2)}")
                lines.append(f"{pad}:{_after_indicator(value, indent + 2)}")
            else:
                lines.append(f"{pad}{_inline(key)}:{_after_indicator(value, indent + 2)}")
    return "\n".join(lines)


def render(node: Node) -> str:
    if _is_block(node):
        props = _properties(node)
        return (props + "\n" if props else "") + _block(node, 0)
    return _after_indicator(node, 2)[1:]


_KEYS = st.sampled_from(
    [
        "experiment_id",
        "name",
        "duration_seconds",
        "tick_seconds",
        "faults",
        "target_components",
        "seed",
        "steady_state",
        "workload",
        "description",
        "probabilty",
        "faults ",
    ]
)


@st.composite
def experiment_like(draw: st.DrawFn) -> Node:
    """A top-level mapping with an experiment's keys (some valid, some not) and random values."""

    def scalar(text: str) -> Node:
        return ("scalar", text, None, None, False)

    fixed = [
        (scalar("experiment_id"), scalar(draw(st.sampled_from(["fuzz", "'x'", "''", "[a]"])))),
        (scalar("name"), scalar(draw(st.sampled_from(["Fuzz", '"n\\u2028"', "&a n", "*a"])))),
        (scalar("duration_seconds"), scalar(draw(st.sampled_from(["1", "1", "0.5", "-1", "1e9"])))),
    ]
    keys = st.one_of(_KEYS, scalars()).map(scalar)
    extra = draw(st.lists(st.tuples(keys, nodes), max_size=3))
    flow = draw(st.booleans())
    keep = draw(st.sampled_from([3, 3, 3, 2, 1, 0]))
    return ("map", fixed[:keep] + extra, None, None, flow)


_VALID_HEAD = "experiment_id: fuzz\nname: Fuzz\nduration_seconds: 1\n"


@st.composite
def odd_keys(draw: st.DrawFn) -> str:
    """A valid experiment but for one key, any text, at the top or inside a fault: the key is
    quoted back in the error message."""
    odd = draw(st.sampled_from([*WEIRD, "\n", "\r\n", "\n" * 3, " ", ""]))
    key = json.dumps(draw(scalar_text) + odd + draw(scalar_text), ensure_ascii=draw(st.booleans()))
    value = draw(scalars()).replace("\n", " ")
    if draw(st.booleans()):
        return f"{_VALID_HEAD}{key}: {value}\n"
    return (
        f"{_VALID_HEAD}faults:\n  - fault_type: latency\n    duration_ms: 5\n    {key}: {value}\n"
    )


_PREFACES = [
    "",
    "",
    "",
    "---\n",
    "--- ",
    "%YAML 1.1\n---\n",
    "%YAML 1.2\n---\n",
    "%TAG !e! tag:e,2000:\n---\n",
    "%FOO\n",
    "# a comment\n",
    "...\n",
]
_TRAILERS = ["", "", "", "\n", "\n...\n", "\n---\n", "\n--- x\n", " # trailing\n", "\n#"]


@st.composite
def yaml_documents(draw: st.DrawFn) -> str:
    """Text from the grammar, sometimes commented, with CRLF or tab indentation."""
    root = draw(st.one_of(nodes, experiment_like()))
    text = draw(st.sampled_from(_PREFACES)) + render(root) + draw(st.sampled_from(_TRAILERS))
    if draw(st.booleans()):
        lines = text.split("\n")
        commented = draw(st.lists(st.integers(0, max(0, len(lines) - 1)), max_size=3))
        for index in commented:
            lines[index] += " # c"
        text = "\n".join(lines)
    newline = draw(st.sampled_from(["\n", "\n", "\n", "\r\n", "\r", "\u2028"]))
    return text.replace("\n", newline)


@st.composite
def dumped_data(draw: st.DrawFn) -> str:
    """Plain data written by PyYAML or json: well-formed, with awkward strings in it."""
    leaf = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(),
        scalar_text,
        st.sampled_from(WORDS),
    )
    data = draw(
        st.recursive(
            leaf,
            lambda c: st.lists(c, max_size=4) | st.dictionaries(scalar_text | _KEYS, c, max_size=4),
            max_leaves=20,
        )
    )
    if draw(st.booleans()):
        data = {
            "experiment_id": "fuzz",
            "name": "fuzz",
            "duration_seconds": 1,
            **(data if isinstance(data, dict) else {"faults": data}),
        }
    kind = draw(st.sampled_from(["yaml", "yaml-flow", "json"]))
    if kind == "json":
        return json.dumps(data, ensure_ascii=draw(st.booleans()))
    return yaml.safe_dump(data, default_flow_style=kind == "yaml-flow", allow_unicode=True)


# -- bytes --------------------------------------------------------------------------------------

_ENCODINGS = ["utf-8"] * 12 + ["utf-8-sig", "utf-16", "utf-16-be", "utf-32", "latin-1", "cp1252"]
_INSERTS = [
    b"\x00",
    b"\xff",
    b"\xfe",
    b"\x80",
    b"\xc3",
    b"\xc0\x80",
    b"\xed\xa0\x80",
    b"\xf4\x90\x80\x80",
    b"\xef\xbb\xbf",
    b"\xff\xfe",
    b"\t",
    b"\r",
    b"\n",
    b"\n  ",
    b"'",
    b'"',
    b"{",
    b"[",
    b": ",
    b"- ",
    b"&a ",
    b"*a ",
    b"!!python/object/apply:os.system ",
    b"? ",
    b"|\n",
]


def _encode(text: str, encoding: str) -> bytes:
    return text.encode(encoding, errors="surrogatepass" if "utf" in encoding else "replace")


@st.composite
def damaged(draw: st.DrawFn, texts: st.SearchStrategy[str]) -> bytes:
    """A text, encoded one way or another, then maybe damaged at a few places."""
    data = _encode(draw(texts), draw(st.sampled_from(_ENCODINGS)))
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 2, 3]))):
        at = draw(st.integers(0, len(data)))
        op = draw(st.sampled_from(["insert", "insert", "delete", "truncate"]))
        if op == "insert":
            data = data[:at] + draw(st.sampled_from(_INSERTS)) + data[at:]
        elif op == "delete":
            data = data[:at] + data[at + draw(st.integers(1, 8)) :]
        else:
            data = data[:at]
    return data


small_inputs = st.one_of(
    odd_keys().map(lambda text: text.encode("utf-8", errors="surrogatepass")),
    damaged(yaml_documents()),
    damaged(yaml_documents()),
    damaged(yaml_documents()),
    damaged(dumped_data()),
    damaged(dumped_data()),
    st.binary(max_size=512),
    st.sampled_from(
        [
            b"",
            b" ",
            b"\n\n\t\n",
            b"# only a comment\n",
            b"#\n" * 50,
            b"---\n...\n",
            b"\xef\xbb\xbf",
            b"\xef\xbb\xbf# bom and comment\n",
            b"\xef\xbb\xbf\xef\xbb\xbfexperiment_id: x\n",
            b"\xff\xfe\x00\x00",
            b"\x00",
            b"experiment_id: x\x00\n",
        ]
    ),
)


# -- the worst cases, built from parameters -----------------------------------------------------


def deep(style: str, depth: int) -> bytes:
    """Nesting ``depth`` levels deep, in YAML and JSON styles."""
    if style == "flow-seq":
        return b"[" * depth + b"]" * depth
    if style == "flow-map":
        return b"{a: " * depth + b"1" + b"}" * depth
    if style == "flow-open":  # never closed
        return b"[" * depth
    if style == "block-seq":
        return b"- " * depth + b"x\n"
    if style == "json":
        return b'{"a": ' * depth + b"1" + b"}" * depth
    if style == "block-map":  # indentation grows a level: depth**2 / 2 bytes, so at most 1400
        depth = min(depth, 1400)
        return b"".join(b" " * i + b"k:\n" for i in range(depth)) + b" " * depth + b"v\n"
    if style == "anchored":  # every level anchored, the last an alias of the first; at most 700
        depth = min(depth, 700)
        return b"".join(b" " * (2 * i) + b"- &a%d\n" % i for i in range(depth)) + (
            b" " * (2 * depth) + b"- *a0\n"
        )
    raise ValueError(style)


DEEP_STYLES = ["flow-seq", "flow-map", "flow-open", "block-seq", "json", "block-map", "anchored"]


def huge_scalar(style: str, size: int) -> bytes:
    """One scalar of about ``size`` bytes, as the value of ``name`` (or as a key, a tag, ...)."""
    head = b"experiment_id: x\nduration_seconds: 1\nname: "
    n = max(0, size - len(head) - 4)
    if style == "plain":
        body = b"x" * n
    elif style == "double":
        body = b'"' + b"x" * n + b'"'
    elif style == "escapes":
        body = b'"' + b"\\x41" * (n // 4) + b'"'
    elif style == "lines":  # one character a line: the scanner's slowest shape
        body = b'"' + b"x\n" * (n // 2) + b'"'
    elif style == "literal":
        body = b"|\n" + b"  x\n" * (n // 4)
    elif style == "unicode":
        body = "\U0001f4a5".encode() * (n // 4)
    elif style == "key":
        return b"? " + b"k" * n + b"\n: 1\n"
    elif style == "unknown-key":  # an explicit key: a simple key stops at 1024 characters
        return (
            b'experiment_id: x\nname: y\nduration_seconds: 1\n? "'
            + b"k\\n" * (n // 3)
            + (b'"\n: 1\n')
        )
    elif style == "tag":
        return b"name: !" + b"t" * n + b" x\n"
    elif style == "anchor":
        return b"name: &" + b"a" * n + b" x\nid: *" + b"a" * n + b"\n"
    elif style == "undefined-alias":
        return b"name: *" + b"a" * n + b"\n"
    elif style == "comment":
        body = b"x #" + b"c" * n
    elif style == "json":
        return b'{"name": "' + b"x" * n + b'"}'
    else:
        raise ValueError(style)
    return head + body + b"\n"


SCALAR_STYLES = [
    "plain",
    "double",
    "escapes",
    "lines",
    "literal",
    "unicode",
    "key",
    "unknown-key",
    "tag",
    "anchor",
    "undefined-alias",
    "comment",
    "json",
]


def alias_bomb(levels: int, width: int) -> bytes:
    """Billion laughs: each level a list of ``width`` aliases of the level below."""
    lines = [b"l0: &l0 [" + b", ".join([b"lol"] * width) + b"]"]
    for i in range(1, levels):
        lines.append(b"l%d: &l%d [" % (i, i) + b", ".join([b"*l%d" % (i - 1)] * width) + b"]")
    return b"\n".join(lines) + b"\n"


def many_values(style: str, count: int) -> bytes:
    """``count`` values in one collection (trimmed to the file size limit)."""
    if style == "flow":
        data = b"[" + b"1," * count + b"1]"
    elif style == "block":
        data = b"- 1\n" * count
    elif style == "keys":
        data = b"".join(b"k%d: %d\n" % (i, i) for i in range(count))
    elif style == "nulls":
        data = b"-\n" * count
    elif style == "json":
        data = b"[" + b"1," * count + b"1]"
    else:
        raise ValueError(style)
    return data[:MAX_EXPERIMENT_FILE_BYTES]


def random_bytes(seed: int, size: int) -> bytes:
    return random.Random(seed).randbytes(size)


#: Sizes around the limits: the file size limit (1 MiB) and a 2 MB file over it.
LIMIT = MAX_EXPERIMENT_FILE_BYTES
SIZES = [0, 1, 64, 1023, 1024, 1025, 4096, 65_536, 262_144, LIMIT - 1, LIMIT, LIMIT + 1, 2_000_000]
#: The sizes a Hypothesis example may draw: all up to 256 KiB, and the ones over the limit,
#: which are refused before parsing. Inputs of a full MiB are in the explicit worst cases.
CHEAP_SIZES = [s for s in SIZES if s <= 262_144 or s > LIMIT]

worst_inputs = st.one_of(
    st.builds(deep, st.sampled_from(DEEP_STYLES), st.integers(1, 10_000)),
    st.builds(huge_scalar, st.sampled_from(SCALAR_STYLES), st.sampled_from(CHEAP_SIZES)),
    st.builds(alias_bomb, st.integers(1, 12), st.integers(2, 10)),
    st.builds(
        many_values,
        st.sampled_from(["flow", "block", "keys", "nulls", "json"]),
        st.integers(0, 300_000),
    ),
    st.builds(random_bytes, st.integers(0, 2**32), st.sampled_from(CHEAP_SIZES)),
)


def worst_case(name: str) -> bytes:
    """The explicit worst cases, by name (``kind:style:size``)."""
    kind, style, size = name.split(":")
    n = int(size)
    if kind == "deep":
        return deep(style, n)
    if kind == "scalar":
        return huge_scalar(style, n)
    if kind == "bomb":
        return alias_bomb(n, 10)
    if kind == "many":
        return many_values(style, n)
    if kind == "random":
        return random_bytes(int(style), n)
    raise ValueError(name)
