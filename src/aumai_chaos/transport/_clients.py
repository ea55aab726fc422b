"""The two client libraries, ``httpx`` and ``httpx2``, behind one small lazy abstraction.

``httpx2`` is httpx's API under another name (the ``openai`` and ``anthropic`` SDKs send their
requests through it); many other clients use ``httpx``. A transport must answer a request with
the response and exception classes of the library the request belongs to, so every fault asks
:func:`library_of` first. Neither library is imported until a transport or ``instrument()``
needs it.
"""

from __future__ import annotations

import importlib
import threading
from types import ModuleType
from typing import Any

__all__ = ["LIBRARIES", "Library", "importable", "library", "library_of"]

#: The client libraries a transport can belong to, by module name.
LIBRARIES = ("httpx", "httpx2")


class Library:
    """One client library's classes, read once from its module."""

    __slots__ = (
        "AsyncBaseTransport",
        "AsyncByteStream",
        "AsyncHTTPTransport",
        "BaseTransport",
        "ByteStream",
        "ConnectError",
        "HTTPTransport",
        "ReadTimeout",
        "Response",
        "SyncByteStream",
        "module",
        "name",
    )

    def __init__(self, module: ModuleType) -> None:
        self.module = module
        self.name: str = module.__name__
        self.Response: Any = module.Response
        self.ByteStream: Any = module.ByteStream
        self.SyncByteStream: Any = module.SyncByteStream
        self.AsyncByteStream: Any = module.AsyncByteStream
        self.ConnectError: Any = module.ConnectError
        self.ReadTimeout: Any = module.ReadTimeout
        self.HTTPTransport: Any = module.HTTPTransport
        self.AsyncHTTPTransport: Any = module.AsyncHTTPTransport
        self.BaseTransport: Any = module.BaseTransport
        self.AsyncBaseTransport: Any = module.AsyncBaseTransport

    def response(
        self, status: int, headers: list[tuple[str, str]], content: bytes, request: Any
    ) -> Any:
        """A complete response of this library, its body already in memory (nothing to leak)."""
        return self.Response(status, headers=headers, content=content, request=request)

    def __repr__(self) -> str:
        return f"Library({self.name!r})"


_lock = threading.Lock()
_cache: dict[str, Library] = {}


def library(name: str) -> Library:
    """The library ``name`` (``"httpx"`` or ``"httpx2"``); ``ImportError`` if not installed."""
    hit = _cache.get(name)
    if hit is not None:
        return hit
    if name not in LIBRARIES:
        raise ValueError(f"unknown HTTP client library {name!r}; expected one of {LIBRARIES}")
    module = importlib.import_module(name)
    with _lock:
        return _cache.setdefault(name, Library(module))


def importable() -> list[Library]:
    """Every client library that is installed (importing each)."""
    found = []
    for name in LIBRARIES:
        try:
            found.append(library(name))
        except ImportError:
            continue
    return found


def library_of(obj: Any) -> Library:
    """The library that ``obj`` (a request, a response or a transport) belongs to.

    Decided by the module of its class or of the first of its bases that one of the libraries
    defines, so a subclass such as openai's client wrapper is recognised too.
    """
    for cls in type(obj).__mro__:
        top = cls.__module__.partition(".")[0]
        if top in LIBRARIES:
            return library(top)
    raise TypeError(
        f"{type(obj).__qualname__} belongs to neither httpx nor httpx2; "
        "pass library='httpx' or library='httpx2'"
    )
