"""The hot path: deciding whether a fault fires on a call, and carrying it out.

- ``plan``: faults compiled into plain slots, and the pure firing decision.
- ``act``: the sync and async drivers that wait, raise and emit the fault's telemetry.
- ``registry``: the process-wide routing of running experiments to components; the kill switch.
- ``telemetry``: every name we emit, and the instruments that emit it.
- ``window``: an experiment's firing window.

May import: ``aumai_chaos.faults``, ``aumai_chaos.errors``, ``aumai_chaos._version`` and the
OpenTelemetry API. Never the SDK, the experiments or the command line.
"""
