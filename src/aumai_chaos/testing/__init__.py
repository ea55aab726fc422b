"""Test helpers that ship with aumai-chaos: a scripted model server for offline agent tests.

:class:`ProviderServer` speaks the OpenAI (chat completions, Responses, embeddings, models) and
Anthropic (Messages) wire formats on ``127.0.0.1``, streamed and not, with tool calls, so that
the real ``openai`` and ``anthropic`` SDKs talk to it as to the provider. A test decides what
the model answers with :meth:`ProviderServer.script` (:class:`TextReply`,
:class:`ToolCallReply`, :class:`ToolCallsReply` for parallel calls, :class:`HTTPReply`), or lets
:func:`default_responder` play a fixed tool-calling conversation; it asserts on
:attr:`ProviderServer.requests`. :class:`CutStream`, :class:`StallStream` and :class:`ErrorEvent`
make a reply misbehave as a real server does: a dropped connection mid-body, a stream that goes
quiet, an error event in a 200 stream.

Standard library only; it never imports ``openai``, ``anthropic``, ``httpx`` or ``httpx2``.
Nothing here is imported by ``import aumai_chaos``.
"""

from aumai_chaos.testing._script import (
    CutStream,
    ErrorEvent,
    HTTPReply,
    ModelRequest,
    Reply,
    Responder,
    StallStream,
    TextReply,
    ToolCallReply,
    ToolCallsReply,
    default_responder,
)
from aumai_chaos.testing._server import ProviderServer, RecordedRequest

__all__ = [
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
