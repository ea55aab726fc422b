"""Usage errors in one line: ``aumai-chaos run: error: <problem> (see 'aumai-chaos run -h' for
help)`` on stderr, exit 2, instead of click's usage block or Typer's rich box.

:class:`OneLineUsageGroup` is the command group's class (``typer.Typer(cls=...)``): it catches
the ``UsageError`` that parsing raises, for the group itself (an unknown command or option)
and for each command (a bad value, an unknown option, a missing argument), writes the line and
leaves with :class:`typer.Exit`, which Typer turns into the exit code without drawing anything.
``UsageError`` is found as the base of :class:`typer.BadParameter`: Typer once raised click's
own, and now its vendored copy's, so naming either module would miss the other.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Any

import typer
from typer.core import TyperGroup

__all__ = ["OneLineUsageGroup", "usage_line"]

EXIT_USAGE = 2
_COMMAND_KEY = "aumai_chaos.command"

_UsageError: type[Exception] = next(
    c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError"
)


def usage_line(exc: Exception, prog: str) -> str:
    """The error (a ``UsageError``) as one line, naming the command it belongs to and where
    its help is."""
    ctx = getattr(exc, "ctx", None)
    where = getattr(ctx, "command_path", None) or prog
    formatted = getattr(exc, "format_message", None)
    message = " ".join((formatted() if callable(formatted) else str(exc)).split())
    return f"{where}: error: {message} (see '{where} -h' for help)"


@contextlib.contextmanager
def _one_line(prog: str) -> Iterator[None]:
    try:
        yield
    except _UsageError as exc:
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.write(usage_line(exc, prog) + "\n")
            sys.stderr.flush()
        raise typer.Exit(EXIT_USAGE) from None


class OneLineUsageGroup(TyperGroup):
    """A Typer command group whose usage errors are one line and exit 2."""

    def make_context(self, info_name: str | None, *args: Any, **kwargs: Any) -> Any:
        with _one_line(info_name or self.name or "aumai-chaos"):
            return super().make_context(info_name, *args, **kwargs)

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        resolved = super().resolve_command(ctx, args)
        ctx.meta[_COMMAND_KEY] = resolved[0]  # for an error that carries no context of its own
        return resolved

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except _UsageError:
            command = ctx.meta.get(_COMMAND_KEY)
            with _one_line(f"{ctx.command_path} {command}" if command else ctx.command_path):
                raise
