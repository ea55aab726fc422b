"""What the providers answer when they fail: status, headers and error body, per route.

The shapes are the providers' own, so an SDK maps an injected answer to the same exception
(``openai.RateLimitError``, ``anthropic.OverloadedError``...) and the same ``.code`` / ``.type``
that a real outage gives:

- OpenAI: ``{"error": {"message", "type", "param", "code"}}``; a rate limit is
  ``rate_limit_error`` / ``rate_limit_exceeded``, an exhausted quota ``insufficient_quota``;
- Anthropic: ``{"type": "error", "error": {"type", "message"}}``, with ``rate_limit_error``
  (429), ``overloaded_error`` (529), ``api_error`` (500) and the rest by status;
- a 502 is the HTML page of the proxy in front of the provider, on every route;
- any other route gets a small JSON body ``{"error": {"message", "status"}}``.

Pure: bytes and strings only, no client library.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from http import HTTPStatus

__all__ = ["Answer", "error_answer", "quota_answer", "rate_limit_answer", "retry_headers"]


@dataclass(frozen=True, slots=True)
class Answer:
    """A complete HTTP answer: ``status``, ``headers`` (lower-case names) and ``body``."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


_JSON = ("content-type", "application/json")

# status -> (type, code, message) as OpenAI sends them
_OPENAI: dict[int, tuple[str, str | None, str]] = {
    400: ("invalid_request_error", None, "Invalid request."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
    403: ("permission_error", None, "You are not allowed to access this resource."),
    404: ("invalid_request_error", "model_not_found", "The model does not exist."),
    409: ("invalid_request_error", None, "Conflict."),
    422: ("invalid_request_error", None, "Unprocessable entity."),
    429: ("rate_limit_error", "rate_limit_exceeded", "Rate limit reached. Please try again."),
    500: ("server_error", None, "The server had an error while processing your request."),
    503: ("server_error", None, "The engine is currently overloaded, please try again later."),
}
# status -> (type, message) as Anthropic sends them
_ANTHROPIC: dict[int, tuple[str, str]] = {
    400: ("invalid_request_error", "Invalid request."),
    401: ("authentication_error", "invalid x-api-key"),
    403: ("permission_error", "Your API key does not have permission to use this resource."),
    404: ("not_found_error", "Not found."),
    413: ("request_too_large", "Request exceeds the maximum allowed number of bytes."),
    429: ("rate_limit_error", "Number of requests has exceeded your rate limit."),
    500: ("api_error", "Internal server error"),
    529: ("overloaded_error", "Overloaded"),
}

_PROXY_502 = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    b"</body>\r\n</html>\r\n"
)


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Overloaded" if status == 529 else f"HTTP {status}"


def _openai_body(kind: str, code: str | None, message: str) -> bytes:
    error = {"message": message, "type": kind, "param": None, "code": code}
    return json.dumps({"error": error}).encode()


def _anthropic_body(kind: str, message: str) -> bytes:
    return json.dumps({"type": "error", "error": {"type": kind, "message": message}}).encode()


def error_answer(provider: str | None, status: int, message: str | None = None) -> Answer:
    """The error answer ``provider`` (``"openai"``, ``"anthropic"`` or None) sends with
    ``status``; ``message`` replaces the provider's default message."""
    if status == 502 and message is None:
        return Answer(status, [("content-type", "text/html")], _PROXY_502)
    if provider == "openai":
        default = ("server_error", None, _reason(status)) if status >= 500 else None
        kind, code, text = _OPENAI.get(status) or default or ("invalid_request_error", None, "")
        body = _openai_body(kind, code, message or text or _reason(status))
        return Answer(status, [_JSON], body)
    if provider == "anthropic":
        default_kind = "api_error" if status >= 500 else "invalid_request_error"
        kind, text = _ANTHROPIC.get(status, (default_kind, _reason(status)))
        return Answer(status, [_JSON], _anthropic_body(kind, message or text))
    error = {"message": message or _reason(status), "status": status}
    return Answer(status, [_JSON], json.dumps({"error": error}).encode())


def retry_headers(retry_after_s: float) -> list[tuple[str, str]]:
    """``retry-after`` in whole seconds, rounded up (RFC 9110 §10.2.3: delay-seconds is an
    integer; rounding down would invite a retry too early), and the exact wait in
    ``retry-after-ms``, which the openai and anthropic SDKs read first."""
    millis = round(retry_after_s * 1000)
    return [("retry-after", str(math.ceil(millis / 1000))), ("retry-after-ms", str(millis))]


def rate_limit_answer(
    provider: str | None, retry_after_s: float, *, quota: bool = False, message: str | None = None
) -> Answer:
    """429 with ``retry-after`` and ``retry-after-ms``; with ``quota``, OpenAI's
    ``insufficient_quota`` body."""
    base = quota_answer(provider, message) if quota else error_answer(provider, 429, message)
    return Answer(429, [*base.headers, *retry_headers(retry_after_s)], base.body)


def quota_answer(provider: str | None, message: str | None = None) -> Answer:
    """429 for an exhausted quota (no ``retry-after``: waiting does not help)."""
    if provider == "openai":
        text = message or (
            "You exceeded your current quota, please check your plan and billing details."
        )
        body = _openai_body("insufficient_quota", "insufficient_quota", text)
        return Answer(429, [_JSON], body)
    if provider == "anthropic":
        text = message or "Your organization has exhausted its usage limit."
        return Answer(429, [_JSON], _anthropic_body("rate_limit_error", text))
    return error_answer(provider, 429, message or "Quota exhausted")
