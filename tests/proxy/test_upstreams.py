"""Where a request goes: the default upstream, named ones by their first path segment."""

from __future__ import annotations

import pytest

from aumai_chaos.proxy import parse_upstreams


@pytest.mark.parametrize(
    ("specs", "raw_path", "query", "url"),
    [
        (["http://up:8000"], b"/v1/chat/completions", b"", "http://up:8000/v1/chat/completions"),
        (
            ["https://api.openai.com/v1/"],
            b"/chat/completions",
            b"",
            "https://api.openai.com/v1/chat/completions",
        ),
        (["http://up"], b"/a%2Fb", b"x=1&y=%20", "http://up/a%2Fb?x=1&y=%20"),
        (
            ["openai=https://api.openai.com/v1", "http://d"],
            b"/openai/models",
            b"",
            "https://api.openai.com/v1/models",
        ),
        (
            ["openai=https://api.openai.com/v1", "http://d"],
            b"/openai",
            b"",
            "https://api.openai.com/v1",
        ),
        (["openai=https://api.openai.com/v1", "http://d"], b"/other/x", b"", "http://d/other/x"),
        (
            ["openai=https://api.openai.com/v1", "http://d"],
            b"/openaix/y",
            b"",
            "http://d/openaix/y",
        ),
        (["m=http://[::1]:9000/mcp"], b"/m/", b"", "http://[::1]:9000/mcp/"),
    ],
)
def test_resolve(specs: list[str], raw_path: bytes, query: bytes, url: str) -> None:
    target = parse_upstreams(specs).resolve(raw_path, query)
    assert target is not None
    assert target.url == url


def test_no_default_and_no_such_name_is_no_target() -> None:
    ups = parse_upstreams(["a=http://a", "b=http://b"])
    assert ups.resolve(b"/c/x", b"") is None
    assert ups.prefixes() == ["/a/", "/b/"]
    assert ups.describe() == "a=http://a, b=http://b"


def test_an_absolute_form_target_is_no_target() -> None:
    assert parse_upstreams(["http://up"]).resolve(b"http://evil/x", b"") is None


def test_the_hosts_are_the_components_of_unknown_routes() -> None:
    ups = parse_upstreams(["a=http://Tools.Internal:8000", "https://api.openai.com"])
    assert ups.hosts == {"tools.internal", "api.openai.com"}
