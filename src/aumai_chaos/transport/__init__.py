"""Faults on the HTTP transport: what the real provider SDKs see in an outage.

The ``openai`` and ``anthropic`` SDKs (and any other httpx or httpx2 client) map a real 429 to
``RateLimitError``, retry it honouring ``Retry-After``, and map a dropped connection to
``APIConnectionError``. Faults injected here answer and fail exactly like that, in the client's
transport, so the agent's production resilience code is what gets exercised.

- :class:`ChaosTransport`, :class:`AsyncChaosTransport`: wrap a client's transport
  (``httpx.Client(transport=ChaosTransport(faults=[...]))``), httpx or httpx2;
- :func:`instrument` / :func:`uninstrument`: zero-code, every client in the process;
- routes (:mod:`.routes`): each request is a call into a component named by its route
  (``openai.chat.completions``, ``anthropic.messages``..., the host, or your own), which
  experiments target by name;
- :mod:`.providers`: the providers' own error answers;
- :class:`ResponseFault`, :func:`register_response_fault`: the handler of a fault that acts on
  the response (streams, model output), given a :class:`FaultContext` (its request, response,
  :class:`Library`) whose :meth:`~FaultContext.act` returns the :class:`ActingFault`.

Modules: ``_clients`` (httpx/httpx2, imported lazily), ``routes``, ``providers``,
``_request_faults`` (what each fault does to a request), ``_hooks`` (where stream and output
faults plug in, and the ``FaultHooks`` they act through), ``_response_faults`` (the built-in
stream and output faults), ``_transport``, ``_instrument``. The decisions are the engine's
(``aumai_chaos._engine.calls.decide``).

May import ``aumai_chaos.faults``, ``aumai_chaos._engine``, ``aumai_chaos.errors``, the
OpenTelemetry API and ``wrapt``; ``httpx`` and ``httpx2`` only lazily, when a transport or
:func:`instrument` first needs them. Never the experiments or the command line.
"""

from aumai_chaos.transport._clients import Library
from aumai_chaos.transport._hooks import (
    ActingFault,
    FaultContext,
    ResponseFault,
    register_response_fault,
    unregister_response_fault,
)
from aumai_chaos.transport._instrument import instrument, is_instrumented, uninstrument
from aumai_chaos.transport._response_faults import register as _register_response_faults
from aumai_chaos.transport._transport import AsyncChaosTransport, ChaosTransport
from aumai_chaos.transport.routes import BUILTIN_ROUTES, URL, Host, Method, Path, Pattern, Route

# The stream faults, the model-output faults and context_overflow.
_register_response_faults()

__all__ = [
    "BUILTIN_ROUTES",
    "URL",
    "ActingFault",
    "AsyncChaosTransport",
    "ChaosTransport",
    "FaultContext",
    "Host",
    "Library",
    "Method",
    "Path",
    "Pattern",
    "ResponseFault",
    "Route",
    "instrument",
    "is_instrumented",
    "register_response_fault",
    "uninstrument",
    "unregister_response_fault",
]
