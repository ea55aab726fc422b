"""Which component an HTTP request is a call into: its *route*.

- The built-in routes recognise the provider APIs by path, whatever the host (a gateway or a
  loopback test server is named the same as the provider itself): :data:`BUILTIN_ROUTES`.
- Any other request is named by its host (``qdrant``, ``127.0.0.1``).
- The user's own routes, ``{"vector_db": "http://qdrant:6333/*"}``, match a URL glob and
  optionally a method (``"POST http://qdrant:6333/collections/*"``), or a composed
  :class:`Pattern` (``URL("http://qdrant:6333/*") & Method("POST")``), in the shape of respx's
  patterns. They are consulted first, in order; a user route may reuse a built-in name (a
  gateway with its own paths), and then keeps that route's provider.

A glob is matched against ``scheme://host[:port]/path``: no query, the port only when it is not
the scheme's default. ``*`` matches anything, ``/`` included. A glob that could never match a
URL is refused when the routes are built, with a one-line :class:`~aumai_chaos.ConfigError`.

Pure: imports neither httpx nor httpx2, so experiments can check route names against it.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase, translate
from typing import Any

from aumai_chaos.errors import ConfigError

__all__ = [
    "BUILTIN_ROUTES",
    "PROVIDER_PREFIXES",
    "Host",
    "Method",
    "Path",
    "Pattern",
    "Route",
    "Router",
    "URL",
    "check_fault_on_route",
    "check_route_name",
]


@dataclass(frozen=True, slots=True)
class Route:
    """A request's component ``name`` and, on a provider route, its ``provider``."""

    name: str
    provider: str | None = None


def _suffix(*suffixes: str) -> Callable[[str], bool]:
    return lambda path: path.endswith(suffixes)


#: The built-in provider routes: name, provider and the paths that belong to it.
BUILTIN_ROUTES: dict[str, tuple[str, Callable[[str], bool]]] = {
    # /v1/chat/completions, /chat/completions, Azure's /openai/deployments/<d>/chat/completions
    "openai.chat.completions": ("openai", _suffix("/chat/completions")),
    "openai.responses": ("openai", lambda p: p.endswith("/v1/responses") or p == "/responses"),
    "openai.embeddings": ("openai", _suffix("/embeddings")),
    "anthropic.messages": ("anthropic", _suffix("/v1/messages")),
}
#: Component names with these prefixes are provider routes: one that is not built in is a typo.
PROVIDER_PREFIXES = ("openai.", "anthropic.")
_BUILTIN = {name: Route(name, provider) for name, (provider, _) in BUILTIN_ROUTES.items()}
_BUILTIN_MATCH = tuple((match, _BUILTIN[name]) for name, (_, match) in BUILTIN_ROUTES.items())


def check_route_name(name: str) -> str | None:
    """Why ``name`` cannot be a component, or None: a provider prefix on no built-in route,
    a name that no MCP component has (``mcp.tool.``), or a glob that matches no known shape."""
    from aumai_chaos.mcp._names import check_mcp_name, is_mcp_name

    if is_mcp_name(name):
        return check_mcp_name(name)
    if _GLOB_CHARS.search(name):
        if name.startswith(".") or name.endswith(".") or ".." in name:
            return f"{name!r} matches no component: a glob with an empty part between dots"
        if name.startswith(PROVIDER_PREFIXES) and not any(
            fnmatchcase(route, name) for route in BUILTIN_ROUTES
        ):
            known = ", ".join(BUILTIN_ROUTES)
            return f"{name!r} matches no provider route; the built-in routes are {known}"
        return None
    if name.startswith(PROVIDER_PREFIXES) and name not in BUILTIN_ROUTES:
        close = difflib.get_close_matches(name, list(BUILTIN_ROUTES), n=1, cutoff=0.6)
        if close:
            return f"unknown provider route {name!r}; did you mean {close[0]!r}?"
        known = ", ".join(BUILTIN_ROUTES)
        return f"unknown provider route {name!r}; the built-in routes are {known}"
    return None


def check_fault_on_route(fault: Any, name: str) -> str | None:
    """Why ``fault`` cannot act on the built-in route ``name`` (or every route a glob
    matches), or on MCP components, or None (also for any other name: a decorated component
    may carry any fault but an MCP one)."""
    from aumai_chaos.mcp._names import check_mcp_fault

    if (why := check_mcp_fault(fault, name)) is not None:
        return why
    if _GLOB_CHARS.search(name):
        # A glob over provider routes covers only those; any other acts where it can.
        if name.startswith(PROVIDER_PREFIXES):
            for route in BUILTIN_ROUTES:
                if fnmatchcase(route, name) and (why := check_fault_on_route(fault, route)):
                    return why
        return None
    if name not in BUILTIN_ROUTES:
        return None
    kind = fault.fault_type.value
    if "transport" not in fault.sites:
        return f"{kind} cannot act on {name}, an HTTP route: {fault.site_reason}"
    code = getattr(fault, "error_code", None) if kind == "error" else None
    if code is not None and not 100 <= code <= 599:
        return f"{kind} on {name}: error_code {code} is not an HTTP status (100-599)"
    return None


# -- patterns ---------------------------------------------------------------------------------

_CACHE_SIZE = 4096
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"})
_DEFAULT_PORTS = {"http": "80", "https": "443"}
_GLOB_CHARS = re.compile(r"[*?\[]")


class Pattern:
    """A condition on a request; combine with ``&``, ``|`` and ``~``."""

    __slots__ = ()

    def match(self, method: str, url: str, host: str, path: str) -> bool:
        raise NotImplementedError

    def __and__(self, other: Pattern) -> Pattern:
        return _All((self, other))

    def __or__(self, other: Pattern) -> Pattern:
        return _Any((self, other))

    def __invert__(self) -> Pattern:
        return _Not(self)


class _All(Pattern):
    __slots__ = ("parts",)

    def __init__(self, parts: tuple[Pattern, ...]) -> None:
        self.parts = parts

    def match(self, method: str, url: str, host: str, path: str) -> bool:
        return all(p.match(method, url, host, path) for p in self.parts)

    def __repr__(self) -> str:
        return " & ".join(map(repr, self.parts))


class _Any(_All):
    __slots__ = ()

    def match(self, method: str, url: str, host: str, path: str) -> bool:
        return any(p.match(method, url, host, path) for p in self.parts)

    def __repr__(self) -> str:
        return "(" + " | ".join(map(repr, self.parts)) + ")"


class _Not(Pattern):
    __slots__ = ("part",)

    def __init__(self, part: Pattern) -> None:
        self.part = part

    def match(self, method: str, url: str, host: str, path: str) -> bool:
        return not self.part.match(method, url, host, path)

    def __repr__(self) -> str:
        return f"~{self.part!r}"


class _Glob(Pattern):
    __slots__ = ("glob", "regex")

    def __init__(self, glob: str) -> None:
        self.glob = glob
        self.regex = re.compile(translate(glob))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.glob!r})"


class URL(_Glob):
    """``scheme://host[:port]/path`` matches a glob; ``http://qdrant:6333`` means every path."""

    __slots__ = ()

    def __init__(self, glob: str) -> None:
        super().__init__(_normalise_url_glob(glob))

    def match(self, method: str, url: str, host: str, path: str) -> bool:
        return self.regex.match(url) is not None


class Host(_Glob):
    """The host (no port) matches a glob, e.g. ``Host("*.qdrant.io")``."""

    __slots__ = ()

    def __init__(self, glob: str) -> None:
        glob = glob.strip().lower()
        if not glob or re.search(r"[\s/:]", glob):
            raise ConfigError(f"host glob {glob!r} cannot match a host (no scheme, port or path)")
        super().__init__(glob)

    def match(self, method: str, url: str, host: str, path: str) -> bool:
        return self.regex.match(host) is not None


class Path(_Glob):
    """The path matches a glob, e.g. ``Path("/collections/*")``."""

    __slots__ = ()

    def __init__(self, glob: str) -> None:
        glob = glob.strip()
        if not glob.startswith(("/", "*")) or re.search(r"\s", glob):
            raise ConfigError(f"path glob {glob!r} cannot match a path: it must start with '/'")
        super().__init__(glob)

    def match(self, method: str, url: str, host: str, path: str) -> bool:
        return self.regex.match(path) is not None


class Method(Pattern):
    """The request's method is one of ``methods``."""

    __slots__ = ("methods",)

    def __init__(self, *methods: str) -> None:
        names = frozenset(m.strip().upper() for m in methods)
        unknown = sorted(names - _METHODS)
        if not names or unknown:
            raise ConfigError(f"unknown HTTP method {', '.join(unknown) or '(none)'}")
        self.methods = names

    def match(self, method: str, url: str, host: str, path: str) -> bool:
        return method in self.methods

    def __repr__(self) -> str:
        return f"Method({', '.join(sorted(self.methods))})"


def _normalise_url_glob(glob: str) -> str:
    """The glob as it can match our URL form, or a one-line error if it never could."""
    text = glob.strip()
    if not text or re.search(r"\s", text):
        raise ConfigError(f"URL glob {glob!r} cannot match a URL: it is empty or has spaces")
    scheme, sep, rest = text.partition("://")
    if not sep:
        raise ConfigError(f"URL glob {glob!r} cannot match a URL: it must start with http(s)://")
    scheme = scheme.lower()
    if not (fnmatchcase("http", scheme) or fnmatchcase("https", scheme)):
        raise ConfigError(f"URL glob {glob!r} cannot match: the scheme is not http or https")
    if "#" in rest:
        raise ConfigError(f"URL glob {glob!r} cannot match: a URL is matched without fragment")
    netloc, slash, path = rest.partition("/")
    netloc = netloc.lower()
    if not netloc or "@" in netloc:
        raise ConfigError(f"URL glob {glob!r} cannot match: it names no host (or has userinfo)")
    host, colon, port = netloc.rpartition(":") if ":" in netloc else (netloc, "", "")
    if colon and not _GLOB_CHARS.search(port):
        if not port.isdigit() or not 0 < int(port) < 65536:
            raise ConfigError(f"URL glob {glob!r} cannot match: port {port!r} is not a port")
        if _DEFAULT_PORTS.get(scheme) == port:
            netloc = host  # the URL shows no default port
    return f"{scheme}://{netloc}/{path if slash else '*'}"


def _parse(spec: str | Pattern, name: str) -> Pattern:
    if isinstance(spec, Pattern):
        return spec
    if not isinstance(spec, str):
        raise ConfigError(f"routes: {name!r} must be a URL glob or a Pattern, got {spec!r}")
    text = spec.strip()
    method, sep, rest = text.partition(" ")
    if sep and "://" not in method:
        return Method(method) & URL(rest)
    return URL(text)


class Router:
    """Names requests: the user's routes, then the built-in provider routes, then the host."""

    __slots__ = ("_cache", "user")

    def __init__(self, routes: Mapping[str, str | Pattern] | None = None) -> None:
        #: Routes by (method, scheme, host, port, raw path and query) as the URL holds them.
        self._cache: dict[tuple[Any, ...], Route] = {}
        user: list[tuple[Pattern, Route]] = []
        for raw_name, spec in (routes or {}).items():
            name = raw_name.strip() if isinstance(raw_name, str) else ""
            if not name or len(name) > 200:
                raise ConfigError(f"routes: {raw_name!r} is not a component name (1-200 chars)")
            why = check_route_name(name)
            if why is not None:
                raise ConfigError(f"routes: {why}")
            try:
                pattern = _parse(spec, name)
            except ConfigError as exc:
                raise ConfigError(f"routes: {name}: {exc}") from None
            user.append((pattern, _BUILTIN.get(name) or Route(name)))
        self.user = tuple(user)

    def resolve(self, method: str, scheme: str, host: str, port: int | None, path: str) -> Route:
        """The route of one request (its URL in parts, as httpx's ``URL`` gives them)."""
        if self.user:
            netloc = host if port is None else f"{host}:{port}"
            url = f"{scheme}://{netloc}{path}"
            for pattern, route in self.user:
                if pattern.match(method, url, host, path):
                    return route
        for match, route in _BUILTIN_MATCH:
            if match(path):
                return route
        return Route(host)

    def resolve_request(self, request: Any) -> Route:
        """The route of an httpx or httpx2 request.

        Cached by the URL's parsed parts: reading ``url.host`` and ``url.path`` decodes them
        afresh each time (about 2 us for a request), the cached lookup costs a tenth of that.
        """
        url = request.url
        ref = getattr(url, "_uri_reference", None)  # httpx's parsed URL, a named tuple
        if ref is None:  # pragma: no cover - another httpx-like library
            return self.resolve(request.method, url.scheme, url.host, url.port, url.path)
        key = (request.method, ref.scheme, ref.host, ref.port, ref.path)
        route = self._cache.get(key)
        if route is None:
            route = self.resolve(request.method, url.scheme, url.host, url.port, url.path)
            if len(self._cache) >= _CACHE_SIZE:
                self._cache.clear()
            self._cache[key] = route
        return route

    def __repr__(self) -> str:
        return f"Router({[(r.name, p) for p, r in self.user]!r})"
