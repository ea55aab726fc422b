"""The hot path: deciding whether a fault fires on a call, and carrying it out.

- ``plan``: faults compiled into plain slots, the position rules and the ``times`` budget;
  each plan's ``action`` (``before``, ``instead``, ``after``, ``during``) says what it does.
- ``replay``: the portable seeded draw (SHA-256 of seed, component, fault position, call n).
- ``act``: :class:`~act.Firing` (one fault acting: telemetry, window, delays), the sync and
  async drivers of ``before`` faults, and the component-call span (or span-less timer).
- ``streams``: ``during`` faults on decorated generators and async generators, at item N.
- ``steps``: a decorated call on which a fault fires or which has a component-call span, as
  one command generator and its sync, coroutine and generator drivers.
- ``calls``: the one decider, for every caller: the decorators' ``enabled=`` gate and
  ``decide_call``, ``decide`` for a transport (below), ``decide_one`` for the injector and a
  run's synthetic calls. The kill switch stops every firing there.
- ``registry``: the process-wide routing of running experiments to components; the kill switch.
- ``scopes``: which calls a route reaches (the block's context, an armed experiment's
  baggage); ``selection`` reads the baggage.
- ``telemetry``: every name we emit, and the instruments that emit it.
- ``window``: an experiment's firing window.
- ``patches``: the wrapt wrappers that the transport's and MCP's ``instrument()`` put on a
  client library's methods, behind the routing gate, and take out again.

May import: ``aumai_chaos.faults``, ``aumai_chaos.errors``, ``aumai_chaos._version``, the
OpenTelemetry API and ``wrapt``. Never the SDK, the experiments or the command line.

The engine API for a transport
------------------------------
A transport (``aumai_chaos.transport``) calls, per request into a component named at request
time (e.g. ``"openai.chat.completions"``)::

    from aumai_chaos._engine.calls import FaultSet, decide
    from aumai_chaos._engine.registry import state
    from aumai_chaos.faults import Action

    faults = FaultSet(faults, seed=seed, tracer_provider=..., meter_provider=...,
                      where="ChaosTransport")          # refuses call-only faults (transform)

    # (a) the cheap check: nothing of ours can act on this request
    if not own_faults and not state.routing: pass through
    # (b) the decision: which faults fire, numbered n per component (own and experiments')
    decision = decide(component, faults)               # None: pass through untouched
    # (d) the experiments' component-call span (CallSpan) or span-less timer (CallTimer)
    call = decision.call                               # None when no experiment watches
    call.enter(); ...; call.detach() before handing a stream back; call.exit(exc or None)
    # (c) each fault acts, when it acts (maybe at a later stream chunk)
    for firing in decision.firings:                    # in order: before, instead, after, during
        firing.plan.action, firing.plan.fault, firing.occurrence
        if not firing.begin({"http.request.method": "POST", ...}, start=decision.start):
            continue                                   # the experiment's window refused it
        firing.sleep() / await firing.asleep()         # (e) the fault's own delay, to a
        firing.sleep(seconds) / await firing.asleep(s) #     deadline from begin; abort wakes it
        firing.set_attributes({"http.response.status_code": 429})
        firing.end(exc_or_None)                        # ends the span; leaves the window
    firing.skip()                                      # could not apply: not counted, and its
                                                       # ``times`` budget is given back

Semantics:

- ``state.routing`` is ``True`` while any experiment routes anything, under the kill switch
  too (calls are still observed); ``state.enabled`` is the kill switch (``decide`` checks it:
  nothing fires, watched calls are still counted).
- ``decide(component, own=None, *, site=Site.transport) -> Decision | None``: numbers the call
  ``n`` per component (per ``FaultSet`` for its own faults, per experiment for theirs) and
  applies ``probability``, ``after_calls``, ``every``, ``times`` and the seeded hash
  (docs/replay.md). Experiment faults that cannot act at ``site`` are left out for this caller,
  and block experiments (``aumai_chaos.experiment()``) apply only in their own context. Of
  several ``before`` faults that raise, only the first is kept (the others are skipped).
  ``Decision.firings`` are :class:`~act.Firing`; ``Decision.of(Action.instead)`` filters.
- ``Firing.begin(extra=None, *, start=None) -> bool`` stamps the ``chaos.fault`` span (a
  child of the span current *now*) and the ``chaos.fault.injected`` event with the fault's
  attributes, ``chaos.fault.occurrence`` and ``extra``; counts ``chaos.fault.injections`` (and
  ``chaos.fault.delay`` for a fault with a delay); and has the experiment count it. ``start``
  (``time.perf_counter()``) is where the fault's delay is timed from.
- Span attributes the plan already carries: ``chaos.fault.after_chunks`` (stream faults),
  ``chaos.fault.retry_after_s`` (``rate_limit``); ``extra`` adds or overrides them.
"""
