"""Faults that answer *instead of* the call, on an HTTP transport, as the provider would.

Each answers exactly as the real service does for the route it hits (the body shapes of
OpenAI and Anthropic errors live with the transport), so an SDK's own retries and exception
mapping run as they would in production.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field, StringConstraints

from aumai_chaos.faults.base import Action, DurationMs, FaultConfig, FaultType, Message, Site

__all__ = ["ConnectErrorFault", "HttpErrorFault", "RateLimitFault", "ReadTimeoutFault"]

_TRANSPORT_ONLY = frozenset({Site.transport})
_WHY = "it answers an HTTP request; a decorated Python call has no HTTP response to give"

HeaderName = Annotated[
    str, StringConstraints(min_length=1, max_length=200, pattern=r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
]
HeaderValue = Annotated[str, StringConstraints(max_length=8192, pattern=r"^[^\r\n]*$")]


class _HttpFault(FaultConfig):
    """An HTTP transport's failure, instead of the request: the call fails."""

    sites: ClassVar[frozenset[Site]] = _TRANSPORT_ONLY
    site_reason: ClassVar[str] = _WHY
    action: ClassVar[Action] = Action.instead

    fails: ClassVar[bool] = True


class RateLimitFault(_HttpFault):
    """429 with ``retry-after`` (``retry_after_s`` in whole seconds, rounded up, as RFC 9110
    wants) and ``retry-after-ms`` (the exact value, which the SDKs read first), and the
    provider's rate-limit body (``insufficient_quota`` for OpenAI when ``quota`` is set)."""

    answers: ClassVar[bool] = True

    fault_type: Literal[FaultType.rate_limit] = FaultType.rate_limit
    retry_after_s: Annotated[float, Field(ge=0.0, le=3600.0, allow_inf_nan=False)] = 1.0
    quota: Annotated[bool, Field(strict=True)] = False
    error_message: Message | None = None


class HttpErrorFault(_HttpFault):
    """Any HTTP status (``status_code``, default 503) with optional ``headers`` and ``body``.

    Without a body, the provider's own error body for that status (529 on an Anthropic route
    is ``overloaded_error``); a ``body`` is sent as given, e.g. the HTML page a proxy sends
    with a 502.
    """

    answers: ClassVar[bool] = True

    fault_type: Literal[FaultType.http_error] = FaultType.http_error
    status_code: Annotated[int, Field(ge=100, le=599, strict=True)] = 503
    headers: dict[HeaderName, HeaderValue] = Field(default_factory=dict, max_length=100)
    body: Annotated[str, StringConstraints(max_length=1_000_000)] | None = None
    error_message: Message | None = None


class ConnectErrorFault(_HttpFault):
    """The client library's own ``ConnectError``, raised before any byte is sent."""

    breaks_connection: ClassVar[bool] = True

    fault_type: Literal[FaultType.connect_error] = FaultType.connect_error
    error_message: Message | None = None


class ReadTimeoutFault(_HttpFault):
    """Wait ``duration_ms`` (or the request's own read timeout, if that is shorter or
    ``duration_ms`` is unset), then raise the client library's own ``ReadTimeout``."""

    site_reason: ClassVar[str] = (
        "it stands for a client's read timeout; on a decorated call use a timeout fault"
    )
    breaks_connection: ClassVar[bool] = True

    fault_type: Literal[FaultType.read_timeout] = FaultType.read_timeout
    duration_ms: DurationMs | None = None
    error_message: Message | None = None

    @property
    def delay_seconds(self) -> float:
        return (self.duration_ms or 0) / 1000.0
