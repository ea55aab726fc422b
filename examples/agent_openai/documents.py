"""The agent's knowledge base: a dozen short documents, shipped with the example."""

from __future__ import annotations

__all__ = ["DOCUMENTS"]

#: ``(title, text)`` pairs, indexed by :class:`~examples.agent_openai.tools.VectorIndex`.
DOCUMENTS: tuple[tuple[str, str], ...] = (
    (
        "Rate limits",
        "A provider answers 429 when a client sends too many requests. The retry-after header "
        "says how many seconds to wait before the next request; honour it instead of retrying "
        "at once.",
    ),
    (
        "Retries with backoff",
        "Retry a failed request a few times, waiting longer after each failure, with jitter so "
        "that many clients do not retry together. Retry only errors that can pass: 429, 5xx, "
        "connection errors and timeouts.",
    ),
    (
        "Timeouts",
        "Every network call needs a timeout. A stream that stalls without closing hangs an "
        "agent for as long as the client waits: set a read timeout shorter than users' patience.",
    ),
    (
        "Streaming responses",
        "A streamed response arrives as server-sent events, one chunk at a time. A stream can "
        "break or stall midway; the client library does not retry a stream that already started.",
    ),
    (
        "Tool calls",
        "The model asks for a tool by name with JSON arguments. Arguments can arrive truncated "
        "or malformed; parse them and ask the model again when they are not valid JSON.",
    ),
    (
        "Fallbacks",
        "When a dependency that is not essential fails, degrade instead of failing: answer "
        "without retrieved context, from a cache, or with a simpler method, and say so.",
    ),
    (
        "Vector search",
        "A vector index turns each document into a vector and ranks documents by cosine "
        "similarity to the query's vector. The nearest documents become the model's context.",
    ),
    (
        "Circuit breakers",
        "After repeated failures a circuit breaker stops calling a dependency for a while, so "
        "that a struggling service can recover and callers fail fast instead of waiting.",
    ),
    (
        "Idempotency",
        "A retried request must be safe to repeat. Reading is idempotent; a payment is not, "
        "unless it carries an idempotency key that the server deduplicates.",
    ),
    (
        "Context windows",
        "A model accepts a limited number of tokens. A long conversation must be summarised or "
        "trimmed before it exceeds the context window, or the provider rejects the request.",
    ),
    (
        "Observability",
        "Traces show each model call, tool call and retry as a span. Metrics count errors and "
        "latency, so that a steady-state objective can be checked during an experiment.",
    ),
    (
        "Chaos experiments",
        "A chaos experiment injects faults on purpose while a workload runs, and checks that "
        "steady-state objectives such as error rate and latency still hold.",
    ),
)
