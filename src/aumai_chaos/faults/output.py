"""Faults that rewrite a successful model response, *after* the call, as a real provider
would have sent it (OpenAI chat completions and Responses, Anthropic messages; streamed or
not). One that cannot apply (``malformed_tool_call`` on an answer without tool calls) leaves
the response untouched and is not counted as fired: nothing is ever half-applied (and a
``times`` budget is not used up by it).

``empty_output`` and ``truncated_output`` also act on a decorated function's result (a tool's
return value, before the model sees it).
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, StringConstraints

from aumai_chaos.faults.base import Action, FaultConfig, FaultType, Message, OnMcpServer, Site

__all__ = [
    "ContextOverflowFault",
    "EmptyOutputFault",
    "InvalidToolArgumentsFault",
    "MalformedToolCallFault",
    "RefusalFault",
    "TruncatedOutputFault",
    "UnknownToolCallFault",
    "WrongToolArgumentsFault",
]

_TRANSPORT_ONLY = frozenset({Site.transport})
_WHY = "it rewrites a model provider's response; a decorated Python call has none"


class _OutputFault(FaultConfig):
    action: ClassVar[Action] = Action.after


class _ToolCallFault(_OutputFault):
    """A fault on the tool calls of an answer: ``tool_calls`` says which of a turn's calls it
    acts on: ``first`` (the default), ``all``, or ``random`` (a non-empty subset drawn from the
    fault's seeded generator). It does not act on an answer without tool calls."""

    sites: ClassVar[frozenset[Site]] = _TRANSPORT_ONLY
    site_reason: ClassVar[str] = _WHY

    tool_calls: Literal["first", "all", "random"] = "first"


class EmptyOutputFault(OnMcpServer, _OutputFault):
    """The content is empty and everything else is valid (a decorated function's ``str``,
    ``list`` or ``dict`` result becomes empty; an MCP tool's result has no content, and each
    string and list of its ``structuredContent`` is empty)."""

    sites: ClassVar[frozenset[Site]] = frozenset({Site.call, Site.transport, Site.mcp})
    fault_type: Literal[FaultType.empty_output] = FaultType.empty_output

    def apply_to_result(self, result: Any) -> tuple[bool, Any]:
        # Only these three: an empty value of any other type is a guess about the caller.
        if isinstance(result, str):
            return (True, "")
        if isinstance(result, list):
            return (True, [])
        if isinstance(result, dict):
            return (True, {})
        return (False, result)


class TruncatedOutputFault(OnMcpServer, _OutputFault):
    """The content is cut to ``keep_fraction`` of its length, with ``finish_reason: "length"``
    (``status: "incomplete"`` for Responses, ``stop_reason: "max_tokens"`` for Anthropic).
    On an MCP tool's result, each text content is cut so, and ``structuredContent`` string by
    string and list by list (its shape, which the tool's output schema declares, is kept).

    On a decorated function (a tool's return value), a ``str`` or ``bytes`` result keeps that
    fraction of its characters, a ``list`` or ``tuple`` of its items, a ``dict`` of its keys
    (the first ones, in order); an empty result, or one of another type, is left alone."""

    sites: ClassVar[frozenset[Site]] = frozenset({Site.call, Site.transport, Site.mcp})

    fault_type: Literal[FaultType.truncated_output] = FaultType.truncated_output
    keep_fraction: Annotated[float, Field(ge=0.0, lt=1.0, allow_inf_nan=False)] = 0.5

    def apply_to_result(self, result: Any) -> tuple[bool, Any]:
        if not isinstance(result, str | bytes | list | tuple | dict) or not result:
            return (False, result)
        keep = int(len(result) * self.keep_fraction)
        if isinstance(result, dict):
            return (True, {k: result[k] for k in list(result)[:keep]})
        return (True, result[:keep])


class MalformedToolCallFault(_ToolCallFault):
    """A tool call's ``arguments`` is not valid JSON: cut mid-object."""

    fault_type: Literal[FaultType.malformed_tool_call] = FaultType.malformed_tool_call


class UnknownToolCallFault(_ToolCallFault):
    """The model calls a tool that the request did not offer (``tool_name``, or a made-up
    name that none of the offered tools has)."""

    fault_type: Literal[FaultType.unknown_tool_call] = FaultType.unknown_tool_call
    tool_name: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None


class WrongToolArgumentsFault(_ToolCallFault):
    """The arguments are valid JSON matching the declared schema, with perturbed values:
    numbers changed, strings swapped between fields, an enum replaced by another allowed
    value. Nothing raises: the agent must notice on its own."""

    fault_type: Literal[FaultType.wrong_tool_arguments] = FaultType.wrong_tool_arguments


class InvalidToolArgumentsFault(_ToolCallFault):
    """The arguments are valid JSON that breaks the tool's JSON schema (from the request's
    ``tools``): a required field missing (``missing_required``), a value of the wrong type
    (``wrong_type``) or a value outside its ``enum`` (``out_of_enum``). ``violation`` picks one;
    unset, one that the schema allows is drawn from the fault's seeded generator. The agent's
    validation of the arguments, or the tool itself, must catch it."""

    fault_type: Literal[FaultType.invalid_tool_arguments] = FaultType.invalid_tool_arguments
    violation: Literal["missing_required", "wrong_type", "out_of_enum"] | None = None


class RefusalFault(_OutputFault):
    """The provider's refusal: ``refusal`` content (``finish_reason: "content_filter"`` where
    the API has no refusal field) for OpenAI, ``stop_reason: "refusal"`` for Anthropic."""

    sites: ClassVar[frozenset[Site]] = _TRANSPORT_ONLY
    site_reason: ClassVar[str] = _WHY

    fault_type: Literal[FaultType.refusal] = FaultType.refusal
    error_message: Message | None = None


class ContextOverflowFault(_OutputFault):
    """The provider's own 400 for a prompt that is too long: OpenAI
    ``context_length_exceeded``, Anthropic ``invalid_request_error`` "prompt is too long"."""

    sites: ClassVar[frozenset[Site]] = _TRANSPORT_ONLY
    site_reason: ClassVar[str] = _WHY

    action: ClassVar[Action] = Action.instead

    fails: ClassVar[bool] = True

    fault_type: Literal[FaultType.context_overflow] = FaultType.context_overflow
    error_message: Message | None = None
    #: The context length that the error message names, in tokens.
    context_window: Annotated[int, Field(ge=1, le=100_000_000, strict=True)] = 128_000
