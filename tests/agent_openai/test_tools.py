"""The example agent's tools: the calculator and the bag-of-words vector index."""

from __future__ import annotations

import asyncio

import pytest
from examples.agent_openai.agent import FRAGILE, ROBUST, Resilience
from examples.agent_openai.documents import DOCUMENTS
from examples.agent_openai.tools import INDEX, TOOLS, VectorIndex, calculate, search_docs


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ("1234 * 56 + 78", "69182"),
        ("Use the calculator: what is 1234 * 56 + 78?", "69182"),
        ("what is (17 + 25) * 3 - 6 / 2?", "123"),
        ("-3 + 10 / 4", "-0.5"),
    ],
)
def test_calculator_evaluates_the_arithmetic_in_the_text(expression: str, value: str) -> None:
    assert calculate(expression) == value


@pytest.mark.parametrize("expression", ["no numbers here", "2 +", "1 / 0", "2 ** 3 ** 99"])
def test_calculator_refuses_what_is_not_plain_arithmetic(expression: str) -> None:
    with pytest.raises(ValueError, match=r"arithmetic|evaluate"):
        calculate(expression)


def test_the_index_ranks_by_cosine_similarity() -> None:
    hits = INDEX.search("how do I honour retry-after on a 429 rate limit?", k=3)
    assert hits[0][0] == "Rate limits"
    scores = [score for _, _, score in hits]
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 < s <= 1.0 for s in scores)


def test_the_index_is_exact_on_a_document_itself() -> None:
    title, text = DOCUMENTS[4]
    best = INDEX.search(f"{title} {text}", k=1)[0]
    assert best[0] == title
    assert best[2] == pytest.approx(1.0)


def test_a_query_sharing_no_word_finds_nothing() -> None:
    assert INDEX.search("zebra quantum", k=2) == []
    assert VectorIndex([]).search("rate limits") == []
    assert len(INDEX) == len(DOCUMENTS) == 12


def test_search_docs_is_the_vector_db_component() -> None:
    result = asyncio.run(search_docs("what is a good fallback when vector search fails?"))
    assert [line.split("]")[0] for line in result.splitlines()] == ["[Vector search", "[Fallbacks"]
    assert asyncio.run(search_docs("zebra")) == "No document matches."


def test_the_tools_offered_to_the_model_have_one_required_string_argument() -> None:
    names = [t["function"]["name"] for t in TOOLS]
    assert names == ["search_docs", "calculator"]
    for tool in TOOLS:
        params = tool["function"]["parameters"]
        (arg,) = params["properties"]
        assert params["required"] == [arg]
        assert params["properties"][arg]["type"] == "string"


def test_the_variants_differ_only_in_their_safeguards() -> None:
    assert Resilience() == ROBUST
    assert (ROBUST.max_retries, ROBUST.timeout_s, ROBUST.retrieval_fallback) == (3, 1.0, True)
    assert (ROBUST.stream_retries, ROBUST.argument_retries) == (2, 3)
    assert (FRAGILE.max_retries, FRAGILE.timeout_s, FRAGILE.stream_retries) == (0, None, 0)
    assert (FRAGILE.argument_retries, FRAGILE.retrieval_fallback) == (0, False)
