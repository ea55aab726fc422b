"""The agent's tools: a calculator, and a document search over a small local vector index.

The index is plain Python: each document is a bag of words, and a query ranks them by cosine
similarity. :func:`search_docs` is the agent's vector-store lookup, so it is the ``vector_db``
component that experiments aim faults at (``@chaos_target``); in a real agent it would query
Qdrant, pgvector or the like over the network.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from collections import Counter
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from aumai_chaos import chaos_target
from examples.agent_openai.documents import DOCUMENTS

if TYPE_CHECKING:
    from openai.types.chat import ChatCompletionFunctionToolParam

__all__ = ["TOOLS", "VectorIndex", "calculate", "search_docs"]

_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    {"a", "an", "and", "are", "as", "at", "be", "by", "can", "do", "does", "for", "from", "how"}
    | {"i", "in", "is", "it", "not", "of", "on", "or", "so", "that", "the", "this", "to", "what"}
    | {"when", "with"}
)


def _bag(text: str) -> Counter[str]:
    return Counter(w for w in _WORD.findall(text.lower()) if w not in _STOP)


class VectorIndex:
    """Documents as bag-of-words vectors, ranked by cosine similarity to a query."""

    def __init__(self, documents: Iterable[tuple[str, str]]) -> None:
        self._docs: list[tuple[str, str, Counter[str], float]] = []
        for title, text in documents:
            bag = _bag(f"{title} {text}")
            self._docs.append((title, text, bag, math.sqrt(sum(n * n for n in bag.values()))))

    def __len__(self) -> int:
        return len(self._docs)

    def search(self, query: str, k: int = 2) -> list[tuple[str, str, float]]:
        """The ``k`` documents nearest to ``query``: ``(title, text, score)``, best first;
        documents that share no word with the query are left out."""
        q = _bag(query)
        q_norm = math.sqrt(sum(n * n for n in q.values()))
        if not q_norm:
            return []
        scored = [
            (title, text, sum(n * bag[w] for w, n in q.items()) / (q_norm * norm))
            for title, text, bag, norm in self._docs
        ]
        ranked = sorted((s for s in scored if s[2] > 0), key=lambda s: s[2], reverse=True)
        return ranked[:k]


INDEX = VectorIndex(DOCUMENTS)


@chaos_target("vector_db")
async def search_docs(query: str, k: int = 2) -> str:
    """The vector-store lookup: the best ``k`` documents for ``query``, as the tool's result."""
    hits = INDEX.search(query, k)
    if not hits:
        return "No document matches."
    return "\n".join(f"[{title}] {text}" for title, text, _ in hits)


# -- the calculator -----------------------------------------------------------------------------

_OPS: dict[type[ast.AST], Callable[..., Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
}
# A run of arithmetic inside whatever words the model sent along with it.
_ARITHMETIC = re.compile(r"[-+(]*\s*\d[\d.\s()+\-*/]*")


def _eval(node: ast.AST) -> float:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        return float(_OPS[type(node.op)](_eval(node.left), _eval(node.right)))
    if isinstance(node, ast.UnaryOp) and type(node.op) in _OPS:
        return float(_OPS[type(node.op)](_eval(node.operand)))
    raise ValueError(f"not arithmetic: {ast.dump(node)}")


def calculate(expression: str) -> str:
    """Evaluate the arithmetic in ``expression`` (``+ - * /`` and brackets; never ``eval``).

    Models often wrap the expression in words ("what is 2 + 3?"): the longest run of arithmetic
    in the text is what is evaluated. ``ValueError`` when there is none, or it does not parse.
    """
    runs = [m.group().strip() for m in _ARITHMETIC.finditer(expression)]
    if not runs:
        raise ValueError(f"no arithmetic in {expression!r}")
    text = max(runs, key=len)
    try:
        value = _eval(ast.parse(text, mode="eval").body)
    except (SyntaxError, ZeroDivisionError) as exc:
        raise ValueError(f"cannot evaluate {text!r}: {exc}") from exc
    return f"{value:g}"


# -- what the model is offered ------------------------------------------------------------------


def _function(
    name: str, description: str, arg: str, arg_description: str
) -> ChatCompletionFunctionToolParam:
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {
                "type": "object",
                "properties": {arg: {"type": "string", "description": arg_description}},
                "required": [arg],
                "additionalProperties": False,
            },
        },
    }


#: The tools' JSON schemas, as ``chat.completions.create(tools=...)`` takes them.
TOOLS: list[ChatCompletionFunctionToolParam] = [
    _function(
        "search_docs",
        "Search the knowledge base about resilient agents.",
        "query",
        "What to look for.",
    ),
    _function("calculator", "Evaluate arithmetic.", "expression", "For example 12 * (3 + 4)."),
]
