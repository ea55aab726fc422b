"""One shape for the library's context managers: a subclass says what entering and leaving
do (:meth:`Managed._enter`, :meth:`Managed._exit`), and ``with`` (and, for
:class:`DualManaged`, ``async with``) drive it. Leaving never swallows the exception."""

from __future__ import annotations

from types import TracebackType
from typing import Any, Self

__all__ = ["DualManaged", "Managed"]


class Managed:
    """A context manager for ``with``: :meth:`_enter`, then :meth:`_exit` with the outcome."""

    __slots__ = ()

    def _enter(self) -> None:
        """What entering does (nothing by default)."""

    def _exit(self, exc_type: type[BaseException] | None, exc: BaseException | None) -> None:
        """What leaving does: ``exc_type`` and ``exc`` are what the body raised, or ``None``."""

    def __enter__(self) -> Self:
        self._enter()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._exit(exc_type, exc)


class DualManaged(Managed):
    """A :class:`Managed` for ``async with`` too: the same hooks, run on the event loop's
    thread (they must not block)."""

    __slots__ = ()

    async def __aenter__(self) -> Self:
        return self.__enter__()

    async def __aexit__(self, *exc_info: Any) -> None:
        self.__exit__(*exc_info)
