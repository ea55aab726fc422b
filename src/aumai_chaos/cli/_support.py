"""Small pieces of the command line that are not commands: stderr messages, the progress bar,
signal handling, atomic file writes, and the import checks for workloads."""

from __future__ import annotations

import contextlib
import os
import signal
import stat
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from types import FrameType
from typing import TextIO

import typer

from aumai_chaos._engine.registry import is_enabled
from aumai_chaos.errors import ConfigError

__all__ = [
    "DEBUG_ENV",
    "Interrupts",
    "Progress",
    "check_output_path",
    "cli_errors",
    "ensure_cwd_on_path",
    "error",
    "warn_if_disabled",
    "warning",
    "write_atomic",
]

PROG = "aumai-chaos"
DEBUG_ENV = "AUMAI_CHAOS_DEBUG"


def error(message: str) -> None:
    """One line on stderr: ``aumai-chaos: error: <message>``."""
    _line(f"{PROG}: error: {message}")


def warning(message: str) -> None:
    _line(f"{PROG}: warning: {message}")


def warn_if_disabled(observed: str) -> None:
    """Say so when fault injection is disabled: nothing fires, the ``observed`` still are."""
    if not is_enabled():
        warning(
            "fault injection is disabled (AUMAI_CHAOS_DISABLED): no fault will fire; "
            f"{observed} are still observed"
        )


def _line(text: str) -> None:
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.write(" ".join(text.split()) + "\n")
        sys.stderr.flush()


def _debug() -> bool:
    return os.environ.get(DEBUG_ENV, "").strip().lower() not in ("", "0", "false", "no")


@contextlib.contextmanager
def cli_errors() -> Iterator[None]:
    """Bad input -> one line and exit 2; a bug -> one line and exit 1 (traceback on request)."""
    try:
        yield
    except (typer.Exit, typer.Abort):
        raise
    except ConfigError as exc:
        for line in str(exc).splitlines():  # one line per problem
            error(line)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        _line(f"{PROG}: interrupted")
        raise typer.Exit(130) from None
    except Exception as exc:
        if _debug():
            traceback.print_exc(file=sys.stderr)
        detail = " ".join(str(exc).split())[:300]
        error(
            f"internal error: {type(exc).__name__}{': ' + detail if detail else ''} "
            f"(set {DEBUG_ENV}=1 for the traceback)"
        )
        raise typer.Exit(1) from None


class Progress:
    """A one-line progress bar on ``stream``, drawn only when it is a terminal."""

    def __init__(self, stream: TextIO, *, enabled: bool | None = None) -> None:
        self._stream = stream
        if enabled is None:
            try:
                enabled = stream.isatty()
            except (AttributeError, ValueError):
                enabled = False
        self._enabled = enabled
        self._drawn = False
        self._last = 0.0

    def __call__(self, elapsed: float, total: float) -> None:
        if not self._enabled:
            return
        now = time.monotonic()
        if now - self._last < 0.1 and elapsed < total:
            return
        self._last = now
        frac = min(1.0, max(0.0, elapsed / total)) if total > 0 else 1.0
        width = 30
        filled = int(frac * width)
        bar = "#" * filled + "." * (width - filled)
        with contextlib.suppress(OSError, ValueError):
            self._stream.write(f"\r  [{bar}] {elapsed:6.1f}s / {total:g}s")
            self._stream.flush()
            self._drawn = True

    def clear(self) -> None:
        if self._drawn:
            with contextlib.suppress(OSError, ValueError):
                self._stream.write("\r\x1b[K")
                self._stream.flush()
            self._drawn = False


class Interrupts:
    """SIGINT/SIGTERM: the first calls ``on_first`` (abort the run), a second exits at once."""

    def __init__(self, on_first: Callable[[], object] | None = None) -> None:
        self.count = 0
        self.stop = threading.Event()
        self.on_first = on_first
        self._saved: list[tuple[int, object]] = []

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.count += 1
        if self.count > 1:
            with contextlib.suppress(OSError):
                os.write(2, f"\n{PROG}: interrupted again; exiting now\n".encode())
            os._exit(130)
        name = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
        with contextlib.suppress(OSError):
            os.write(2, f"\n{PROG}: {name}: stopping (again to exit at once)\n".encode())
        self.stop.set()
        if self.on_first is not None:
            with contextlib.suppress(Exception):
                self.on_first()

    def __enter__(self) -> Interrupts:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._saved.append((sig, signal.signal(sig, self._handle)))
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, previous in self._saved:
            signal.signal(sig, previous)  # type: ignore[arg-type]
        self._saved.clear()


def write_atomic(path: str, text: str) -> None:
    """Replace ``path`` with ``text`` all at once: a crash leaves the old file or the new one.

    A symbolic link is written through (the file it points at is replaced, the link stays), and
    a device or a pipe (``/dev/null``, ``/dev/stdout``, a FIFO) is written to, never replaced.
    Raises :class:`~aumai_chaos.ConfigError` when it cannot; any earlier file stays intact.
    """
    if _is_special(path):
        try:
            with open(path, "w", encoding="utf-8", newline="\n") as stream:
                stream.write(text)
                stream.flush()
        except OSError as exc:
            raise ConfigError(f"cannot write the file: {exc.strerror or exc}", source=path) from exc
        return
    target = os.path.realpath(path)
    directory = os.path.dirname(target)
    try:
        mode = os.stat(target).st_mode & 0o777
    except OSError:
        mode = 0o644
    tmp: str | None = None
    try:
        fd, tmp = tempfile.mkstemp(
            dir=directory, prefix=f".{os.path.basename(target)}.", suffix=".tmp"
        )
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
        tmp = None
        with contextlib.suppress(OSError):
            dir_fd = os.open(directory, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
    except OSError as exc:
        raise ConfigError(f"cannot write the file: {exc.strerror or exc}", source=path) from exc
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def _is_special(path: str) -> bool:
    """Whether ``path`` (links followed) exists and is neither a regular file nor a directory."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def check_output_path(path: str, option: str = "--output") -> None:
    """Refuse, before a long run, an output path that can never be written."""
    target = os.path.abspath(path)
    if os.path.isdir(target):
        raise ConfigError(f"{option}: is a directory", source=path)
    if _is_special(target):
        if not os.access(target, os.W_OK):
            raise ConfigError(f"{option}: is not writable", source=path)
        return
    directory = os.path.dirname(os.path.realpath(target))
    if not os.path.isdir(directory):
        raise ConfigError(f"{option}: the directory {directory} does not exist", source=path)
    if not os.access(directory, os.W_OK | os.X_OK):
        raise ConfigError(f"{option}: the directory {directory} is not writable", source=path)


def ensure_cwd_on_path() -> None:
    """Workloads such as ``examples.agent:run_once`` import from the directory we run in."""
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:
        sys.path.insert(0, cwd)
