"""The base of every fault: its type, how often it fires, and where it may act.

Each fault type is one class (in the family module that suits it) with ``fault_type`` as a
``Literal`` tag; :data:`aumai_chaos.faults.AnyFault` is the tagged union of all of them, which
pydantic validates by the tag alone, so an unknown field is named against the fields of that
one fault type. ``FaultConfig(fault_type=..., ...)`` builds the right class for the tag, as the
user's guide writes it, and ``isinstance(fault, FaultConfig)`` holds for every fault.

Selection is the same for every fault: ``probability`` with the position rules ``times``,
``after_calls`` and ``every`` (see :class:`FaultConfig`). What a fault *does* is declared by its
class: which sites it can act at (:class:`Site`) and, for the engine, how (its methods).
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

__all__ = [
    "MAX_DURATION_MS",
    "ComponentName",
    "DurationMs",
    "FaultConfig",
    "FaultType",
    "Message",
    "OnMcpServer",
    "Site",
    "Action",
    "fault_class",
    "fault_classes",
    "fault_types_that",
]

#: The longest delay a fault may inject: one hour. Longer values are refused as typos.
MAX_DURATION_MS = 3_600_000

ComponentName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)
]
DurationMs = Annotated[int, Field(ge=0, le=MAX_DURATION_MS, strict=True)]
Message = Annotated[str, StringConstraints(max_length=2000)]
Count = Annotated[int, Field(ge=1, le=1_000_000_000, strict=True)]
ServerGlob = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class FaultType(StrEnum):
    """Every kind of fault. ``FaultType("latency")`` and the plain string are interchangeable.

    The first four are the user's guide's; the rest act on an HTTP transport (``transport``),
    on a stream (``stream``), on a model's output (``output``) or on an MCP request (``mcp``).
    Each has exactly one class.
    """

    # the guide's faults: act before the call (wait, raise)
    latency = "latency"
    error = "error"
    timeout = "timeout"
    resource_exhaustion = "resource_exhaustion"
    # answer instead of the call, on an HTTP transport
    rate_limit = "rate_limit"
    http_error = "http_error"
    connect_error = "connect_error"
    read_timeout = "read_timeout"
    # act during a stream, after some of its chunks
    stream_stall = "stream_stall"
    stream_cut = "stream_cut"
    slow_stream = "slow_stream"
    truncated_stream = "truncated_stream"
    malformed_chunk = "malformed_chunk"
    stream_error_event = "stream_error_event"
    # rewrite the result after the call
    empty_output = "empty_output"
    truncated_output = "truncated_output"
    malformed_tool_call = "malformed_tool_call"
    unknown_tool_call = "unknown_tool_call"
    wrong_tool_arguments = "wrong_tool_arguments"
    invalid_tool_arguments = "invalid_tool_arguments"
    refusal = "refusal"
    context_overflow = "context_overflow"
    transform = "transform"
    # answer an MCP request as a failing MCP server would
    mcp_tool_error = "mcp_tool_error"
    jsonrpc_error = "jsonrpc_error"
    mcp_timeout = "mcp_timeout"
    mcp_disconnect = "mcp_disconnect"
    tool_vanished = "tool_vanished"

    @property
    def raises(self) -> bool:
        """Whether a fault of this type ends a decorated call with an exception (its class's
        ``raises``)."""
        return _CLASSES[self].raises

    @property
    def fails(self) -> bool:
        """Whether a fault of this type, wherever it acts, ends its call with an error: it
        raises at a decorated call, or on a transport answers with an HTTP error status or
        raises the client library's own error. The summary's ``errors_by_type`` counts these
        (its class's ``fails``)."""
        return _CLASSES[self].fails

    @property
    def delays(self) -> bool:
        """Whether a fault of this type waits before it acts (its class's ``delays``)."""
        return _CLASSES[self].delays


class Site(StrEnum):
    """Where a fault can act: on a decorated Python ``call``, on an HTTP ``transport``, or on
    an ``mcp`` request (a Model Context Protocol client session or server)."""

    call = "call"
    transport = "transport"
    mcp = "mcp"


class Action(StrEnum):
    """When a fault acts on the call it fires on (the engine compiles each into a plan).

    - ``before``: wait and/or raise before the call runs (the guide's four);
    - ``instead``: answer instead of the call (an HTTP response or a client error);
    - ``after``: rewrite the call's result;
    - ``during``: act inside a stream, after ``after_chunks`` chunks (items).
    """

    before = "before"
    instead = "instead"
    after = "after"
    during = "during"


_CLASSES: dict[FaultType, type[FaultConfig]] = {}


class FaultConfig(BaseModel):
    """One fault: its type, when it fires, and its parameters (declared by each fault type).

    When it fires, on each call into a component it applies to:

    - ``probability`` (default 1.0): the chance that it fires on a call that the position
      rules allow;
    - ``after_calls`` (default 0): the first ``after_calls`` calls never get it;
    - ``every``: only every ``every``-th call (counted from 1) may get it;
    - ``times``: it fires at most ``times`` times.

    So ``{fault_type: error, error_code: 503, times: 2}`` fails exactly the first two calls.

    ``affected_components`` names the components an experiment applies the fault to; empty means
    the experiment's ``target_components``, or every component when those are empty too.

    ``FaultConfig(fault_type="latency", duration_ms=100)`` returns the class for that type
    (:class:`~aumai_chaos.faults.LatencyFault` here); so does ``FaultConfig.model_validate``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False)

    #: Where this fault type can act. A decorator refuses a fault without ``Site.call``, a
    #: transport one without ``Site.transport``, each with :attr:`site_reason`.
    sites: ClassVar[frozenset[Site]] = frozenset({Site.call, Site.transport})
    #: Why a fault type cannot act at a site it lacks (one sentence, for error messages).
    site_reason: ClassVar[str] = ""
    #: When this fault type acts on the call it fires on.
    action: ClassVar[Action] = Action.before
    # What it does, for the code that acts on it (each set of fault types is derived from
    # these with :func:`fault_types_that`; adding a fault type touches only its class and
    # the code that carries it out):
    #: It ends a decorated call with an exception (an ``InjectedFaultError``).
    raises: ClassVar[bool] = False
    #: The call it acts on ends with an error, wherever it acts (implied by ``raises``).
    fails: ClassVar[bool] = False
    #: It waits before it acts (``duration_ms``).
    delays: ClassVar[bool] = False
    #: Acting ``during`` a stream, it ends the stream early: cleanly, or (when it also
    #: ``fails``) with the provider's error event.
    ends_stream: ClassVar[bool] = False
    #: On a transport, it answers instead of the call with the provider's error response.
    answers: ClassVar[bool] = False
    #: On a transport, it raises the client library's own connection or timeout error
    #: instead of the call.
    breaks_connection: ClassVar[bool] = False

    fault_type: FaultType
    probability: Annotated[float, Field(ge=0.0, le=1.0, strict=True, allow_inf_nan=False)] = 1.0
    affected_components: tuple[ComponentName, ...] = ()
    times: Count | None = None
    after_calls: Annotated[int, Field(ge=0, le=1_000_000_000, strict=True)] = 0
    every: Count | None = None

    if TYPE_CHECKING:
        # For type checkers only: FaultConfig(...) takes the fields of every fault type, as it
        # builds the class of its fault_type (see __new__). A real __init__ would make pydantic
        # validate nested faults through Python keywords.
        def __init__(self, /, **data: Any) -> None: ...

    def __new__(cls, *args: Any, **data: Any) -> Any:
        # FaultConfig(fault_type=...) builds the class of that type; pydantic then runs that
        # class's __init__ (validation) on the new instance. An unknown type falls through to
        # the base, whose validation names the allowed values.
        if cls is FaultConfig and not args:
            try:
                sub = _CLASSES.get(FaultType(data.get("fault_type", "")))
            except ValueError:
                sub = None
            if sub is not None:
                return super().__new__(sub)
        return super().__new__(cls)

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        tag = cls.model_fields["fault_type"].default
        if isinstance(tag, FaultType):
            if tag in _CLASSES:
                raise TypeError(f"fault type {tag.value!r} already has a class")
            _CLASSES[tag] = cls

    @classmethod
    def model_validate(cls, obj: Any, **kwargs: Any) -> Any:
        """Validate ``obj``; on :class:`FaultConfig` itself, as the class its tag names."""
        if cls is FaultConfig:
            from aumai_chaos.faults import fault_adapter

            return fault_adapter().validate_python(obj, **kwargs)
        return super().model_validate(obj, **kwargs)

    @classmethod
    def model_validate_json(cls, json_data: str | bytes | bytearray, **kwargs: Any) -> Any:
        if cls is FaultConfig:
            from aumai_chaos.faults import fault_adapter

            return fault_adapter().validate_json(json_data, **kwargs)
        return super().model_validate_json(json_data, **kwargs)

    @property
    def delay_seconds(self) -> float:
        """The wait this fault injects before the call, in seconds (0 when it does not wait)."""
        return 0.0

    def acts_at(self, site: Site) -> bool:
        return site in self.sites

    def apply_to_result(self, result: Any) -> tuple[bool, Any]:
        """For an ``after`` fault on a decorated call: ``(True, new_result)``, or
        ``(False, result)`` when it cannot apply to this result (it then counts as not fired)."""
        return (False, result)


def fault_class(fault_type: FaultType | str) -> type[FaultConfig]:
    """The class of a fault type."""
    return _CLASSES[FaultType(fault_type)]


def fault_classes() -> dict[FaultType, type[FaultConfig]]:
    """Every fault type's class, in :class:`FaultType` order."""
    return {t: _CLASSES[t] for t in FaultType if t in _CLASSES}


def fault_types_that(behaviour: str) -> frozenset[FaultType]:
    """The fault types whose class declares ``behaviour`` (``"raises"``, ``"fails"``,
    ``"delays"``, ``"ends_stream"``, ``"answers"``, ``"breaks_connection"``) true."""
    return frozenset(t for t, cls in fault_classes().items() if getattr(cls, behaviour))


class OnMcpServer(BaseModel):
    """The ``server`` field of the faults that can act on an MCP request (mixed into their
    classes): on MCP components, the fault acts only on the requests to a server whose
    ``serverInfo.name`` (the name it gave in ``initialize``) matches this glob; refused on a
    component that is no MCP request."""

    #: Only on requests to a server whose ``serverInfo.name`` matches this glob.
    server: ServerGlob | None = None
