"""The pure parts: imports stay light, chunking round-trips, the public surface is curated."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

import aumai_chaos.testing
from aumai_chaos.testing._sse import split_json, split_words
from tests.helpers import REPO, run_python


def test_importing_testing_pulls_in_no_client_library() -> None:
    result = run_python(
        """
        import sys
        import aumai_chaos
        assert "aumai_chaos.testing" not in sys.modules
        import aumai_chaos.testing
        loaded = [m for m in ("openai", "anthropic", "httpx", "httpx2") if m in sys.modules]
        print(loaded)
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_public_names() -> None:
    assert sorted(aumai_chaos.testing.__all__) == [
        "CutStream",
        "ErrorEvent",
        "HTTPReply",
        "ModelRequest",
        "ProviderServer",
        "RecordedRequest",
        "Reply",
        "Responder",
        "StallStream",
        "TextReply",
        "ToolCallReply",
        "ToolCallsReply",
        "default_responder",
    ]


@given(st.text())
def test_split_words_joins_back(text: str) -> None:
    assert "".join(split_words(text)) == text


@given(st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=5), max_size=4))
def test_split_json_joins_back_in_pieces(arguments: dict[str, object]) -> None:
    text = json.dumps(arguments)
    pieces = split_json(text)
    assert "".join(pieces) == text
    assert all(pieces)
    assert len(pieces) == (3 if arguments else 2)  # '{}' is two one-character pieces


def test_the_docs_example_runs() -> None:
    page = (REPO / "docs" / "testing-server.md").read_text(encoding="utf-8")
    example = page.split("```python\n", 1)[1].split("```", 1)[0]
    result = run_python(example)
    assert result.returncode == 0, result.stderr
