"""The ``aumai-chaos`` command-line application: an application, so it may configure the
OpenTelemetry SDK and its exporters (which the library never does).

- ``commands``: the typer commands ``run``, ``validate``, ``report`` and ``init``.
- ``_support``: atomic writes, progress, one-line errors; ``_template``: the ``init`` file.
- ``_otel_setup``, ``_otel_export``, ``_prometheus``: providers, exporters and their failures.
- ``_report``, ``_junit``: rendering results.

May import anything in the package.
"""

from aumai_chaos.cli.commands import app, main

__all__ = ["app", "main"]
