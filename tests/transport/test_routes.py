"""Routes and provider answers (pure), and the one-line errors of bad input."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from aumai_chaos import ChaosExperiment, ConfigError
from aumai_chaos.faults import ErrorFault, HttpErrorFault, RateLimitFault, TransformFault
from aumai_chaos.transport import URL, ChaosTransport, Host, Method, Path
from aumai_chaos.transport.providers import error_answer, quota_answer, rate_limit_answer
from aumai_chaos.transport.routes import Route, Router
from tests.helpers import REPO, run_python


def name(router: Router, method: str, url: str) -> Route:
    scheme, rest = url.split("://")
    netloc, _, path = rest.partition("/")
    host, _, port = netloc.partition(":")
    return router.resolve(method, scheme, host, int(port) if port else None, "/" + path)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://api.openai.com/v1/chat/completions", "openai.chat.completions"),
        ("http://127.0.0.1:8080/chat/completions", "openai.chat.completions"),
        (
            "https://x.openai.azure.com/openai/deployments/d/chat/completions",
            "openai.chat.completions",
        ),
        ("https://api.openai.com/v1/responses", "openai.responses"),
        ("https://api.openai.com/v1/embeddings", "openai.embeddings"),
        ("https://api.anthropic.com/v1/messages", "anthropic.messages"),
        ("https://api.anthropic.com/v1/messages/count_tokens", "api.anthropic.com"),
        ("http://qdrant:6333/collections/x", "qdrant"),
    ],
)
def test_builtin_routes_by_path_whatever_the_host(url: str, expected: str) -> None:
    route = name(Router(), "POST", url)
    assert route.name == expected
    provider = expected.partition(".")[0]
    assert route.provider == (provider if provider in ("openai", "anthropic") else None)


def test_user_routes_by_glob_and_method_come_first() -> None:
    router = Router(
        {
            "vector_db": "http://qdrant:6333/*",
            "search_writes": "POST http://search:9200/*",
            "gateway": URL("https://gw.local/llm/*") & ~Method("GET"),
            "internal": Host("*.internal") | Path("/health"),
            "openai.chat.completions": "https://gw.local/llm/chat",
        }
    )
    assert name(router, "GET", "http://qdrant:6333/collections/x").name == "vector_db"
    assert name(router, "GET", "http://qdrant:6334/collections/x").name == "qdrant"
    assert name(router, "POST", "http://search:9200/idx/_doc").name == "search_writes"
    assert name(router, "GET", "http://search:9200/idx/_doc").name == "search"
    assert name(router, "POST", "https://gw.local/llm/chat").name == "gateway"
    assert name(router, "GET", "http://a.internal/x").name == "internal"
    assert name(router, "GET", "http://example.com/health").name == "internal"
    router = Router({"openai.chat.completions": "https://gw.local/llm/chat"})
    route = name(router, "POST", "https://gw.local/llm/chat")
    assert route == Route("openai.chat.completions", "openai")  # keeps its provider


def test_default_ports_and_host_case_are_normalised() -> None:
    router = Router({"site": "HTTPS://Example.COM:443/api/*", "bare": "http://plain.local"})
    assert name(router, "GET", "https://example.com/api/v").name == "site"
    assert name(router, "GET", "http://plain.local/anything/at/all").name == "bare"


@pytest.mark.parametrize(
    ("routes", "needle"),
    [
        ({"db": "qdrant:6333/*"}, "must start with http(s)://"),
        ({"db": "ftp://qdrant/*"}, "scheme is not http or https"),
        ({"db": "http://qdrant:abc/*"}, "is not a port"),
        ({"db": "http:///x"}, "names no host"),
        ({"db": "http://q/x#frag"}, "fragment"),
        ({"db": "FETCH http://q/*"}, "unknown HTTP method FETCH"),
        ({"db": ""}, "empty"),
        ({"openai.chat": "http://q/*"}, "unknown provider route 'openai.chat'"),
        ({"": "http://q/*"}, "not a component name"),
    ],
)
def test_a_glob_that_cannot_match_is_a_one_line_error(routes: dict[str, str], needle: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Router(routes)
    message = str(caught.value)
    assert needle in message
    assert "\n" not in message


def test_provider_bodies() -> None:
    openai_429 = rate_limit_answer("openai", 1.5)
    assert openai_429.status == 429
    assert ("retry-after", "2") in openai_429.headers  # whole seconds, rounded up
    assert ("retry-after-ms", "1500") in openai_429.headers
    assert json.loads(openai_429.body) == {
        "error": {
            "message": "Rate limit reached. Please try again.",
            "type": "rate_limit_error",
            "param": None,
            "code": "rate_limit_exceeded",
        }
    }
    assert ("retry-after", "2") in rate_limit_answer("anthropic", 2.0).headers
    assert json.loads(quota_answer("openai").body)["error"]["code"] == "insufficient_quota"
    assert json.loads(error_answer("anthropic", 529).body) == {
        "type": "error",
        "error": {"type": "overloaded_error", "message": "Overloaded"},
    }
    assert json.loads(error_answer("anthropic", 500).body)["error"]["type"] == "api_error"
    assert json.loads(error_answer("anthropic", 503).body)["error"]["type"] == "api_error"
    assert json.loads(error_answer("openai", 500).body)["error"]["type"] == "server_error"
    proxy = error_answer("openai", 502)
    assert proxy.headers == [("content-type", "text/html")]
    assert b"502 Bad Gateway" in proxy.body


def test_faults_that_make_no_sense_on_a_transport_are_refused_with_the_reason() -> None:
    with pytest.raises(ValueError, match="transform rewrites a Python return value"):
        ChaosTransport(faults=[TransformFault(transform=str)])
    with pytest.raises(ConfigError, match="not an HTTP status"):
        ChaosTransport(faults=[ErrorFault(error_code=9999)])
    with pytest.raises(ValidationError, match="less than or equal to 599"):
        HttpErrorFault(status_code=600)


def test_experiments_check_route_names_and_faults_on_routes() -> None:
    def exp(components: list[str], *faults: object) -> ChaosExperiment:
        return ChaosExperiment(
            experiment_id="r",
            name="r",
            duration_seconds=1,
            target_components=components,
            faults=list(faults),
        )

    with pytest.raises(ValidationError, match=r"unknown provider route 'anthropic\.message'"):
        exp(["anthropic.message"], RateLimitFault())
    with pytest.raises(ValidationError, match=r"transform cannot act on openai\.responses"):
        exp(["openai.responses"], TransformFault(transform=str))
    with pytest.raises(ValidationError, match="error_code 42 is not an HTTP status"):
        exp(["openai.embeddings"], ErrorFault(error_code=42))
    assert exp(["openai.chat.completions", "vector_db"], RateLimitFault()).faults


def test_the_docs_example_runs() -> None:
    page = (REPO / "docs" / "transport.md").read_text(encoding="utf-8")
    example = page.split("```python\n", 1)[1].split("```", 1)[0]
    assert "ProviderServer" in example
    result = run_python(example)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("retry_after_s", "seconds", "millis"),
    [
        (0.0, "0", "0"),
        (0.2, "1", "200"),
        (1.0, "1", "1000"),
        (1.0004, "1", "1000"),
        (1.01, "2", "1010"),
        (59.9, "60", "59900"),
        (3600.0, "3600", "3600000"),
    ],
)
def test_retry_after_is_delay_seconds_and_retry_after_ms_the_exact_wait(
    retry_after_s: float, seconds: str, millis: str
) -> None:
    headers = dict(rate_limit_answer("openai", retry_after_s).headers)
    assert (headers["retry-after"], headers["retry-after-ms"]) == (seconds, millis)
