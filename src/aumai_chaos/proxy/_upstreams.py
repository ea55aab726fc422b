"""Where the proxy sends a request: the ``--upstream`` forms and the path-prefix table.

Two forms, which may be mixed:

- ``URL``: the default upstream. ``http://PROXY/<path>`` goes to ``URL/<path>`` (the URL's own
  path, e.g. ``/v1``, is put in front). At most one.
- ``NAME=URL``: a named upstream. ``http://PROXY/NAME/<path>`` goes to ``URL/<path>``: the first
  path segment picks the upstream and is removed. ``NAME`` is letters, digits, ``.``, ``_``, ``-``.

A request whose first segment names no upstream goes to the default one, or, without one, gets a
404 that lists the prefixes. The query string and the path's own encoding pass as they came.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from aumai_chaos.errors import ConfigError

__all__ = ["Target", "Upstream", "Upstreams", "parse_upstreams"]

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")


@dataclass(frozen=True, slots=True)
class Upstream:
    """One upstream: ``name`` (None for the default one) and its base URL, split."""

    name: str | None
    url: str
    scheme: str
    netloc: str
    host: str
    base_path: str  # no trailing slash ("" for the root)

    def __str__(self) -> str:
        return self.url if self.name is None else f"{self.name}={self.url}"


@dataclass(frozen=True, slots=True)
class Target:
    """A request's upstream and the URL it goes to there."""

    upstream: Upstream
    url: str


def _parse_one(spec: str) -> Upstream:
    text = spec.strip()
    name: str | None = None
    head, eq, rest = text.partition("=")
    if eq and "://" not in head:
        name, text = head.strip(), rest.strip()
        if not _NAME.fullmatch(name):
            raise ConfigError(
                f"{spec!r}: the name {name!r} must be letters, digits, '.', '_' or '-'",
                field="--upstream",
            )
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise ConfigError(f"{spec!r} is not a URL: {exc}", field="--upstream") from None
    problem = None
    if parts.scheme not in ("http", "https"):
        problem = "must start with http:// or https://"
    elif not parts.hostname:
        problem = "names no host"
    elif parts.username is not None or parts.password is not None:
        problem = "must not carry a user or password (send credentials in headers)"
    elif parts.query or parts.fragment or text.endswith(("?", "#")):
        problem = "must have no query or fragment"
    elif port == 0:
        problem = "port 0 is not a port to connect to"
    if problem is not None:
        raise ConfigError(f"{spec!r} {problem}", field="--upstream")
    host = parts.hostname or ""
    netloc = parts.netloc
    return Upstream(
        name=name,
        url=text.rstrip("/") if parts.path not in ("", "/") else f"{parts.scheme}://{netloc}",
        scheme=parts.scheme,
        netloc=netloc,
        host=host,
        base_path=parts.path.rstrip("/"),
    )


def parse_upstreams(specs: list[str]) -> Upstreams:
    """The ``--upstream`` values checked; a one-line :class:`ConfigError` for the first bad one."""
    if not specs:
        raise ConfigError("at least one is needed", field="--upstream")
    upstreams = [_parse_one(s) for s in specs]
    default = [u for u in upstreams if u.name is None]
    if len(default) > 1:
        raise ConfigError(
            "only one may be unnamed (name the others: --upstream NAME=URL)", field="--upstream"
        )
    seen: set[str] = set()
    for u in upstreams:
        if u.name is not None:
            if u.name in seen:
                raise ConfigError(f"the name {u.name!r} is given twice", field="--upstream")
            seen.add(u.name)
    return Upstreams(upstreams)


class Upstreams:
    """The upstreams, and which one a request path goes to."""

    __slots__ = ("all", "default", "named")

    def __init__(self, upstreams: list[Upstream]) -> None:
        self.all = tuple(upstreams)
        self.default = next((u for u in upstreams if u.name is None), None)
        self.named = {u.name: u for u in upstreams if u.name is not None}

    @property
    def hosts(self) -> set[str]:
        """The hosts of the upstreams (the components of requests on no provider route)."""
        return {u.host for u in self.all}

    def resolve(self, raw_path: bytes, query: bytes) -> Target | None:
        """The target of a request for ``raw_path`` (as sent, still percent-encoded)."""
        path = raw_path.decode("latin-1") or "/"
        if not path.startswith("/"):
            return None  # an absolute-form or asterisk-form target: not for a reverse proxy
        upstream = self.default
        if self.named:
            first, slash, rest = path[1:].partition("/")
            named = self.named.get(first)
            if named is not None:
                # /NAME -> the base URL itself; /NAME/ -> the base URL and a slash.
                upstream, path = named, slash + rest
        if upstream is None:
            return None
        url = f"{upstream.scheme}://{upstream.netloc}{upstream.base_path}{path}"
        if not upstream.base_path and not path:
            url += "/"
        if query:
            url += "?" + query.decode("latin-1")
        return Target(upstream, url)

    def describe(self) -> str:
        """``URL`` or ``name=URL, ...`` for the listening line."""
        return ", ".join(str(u) for u in self.all)

    def prefixes(self) -> list[str]:
        return [f"/{name}/" for name in self.named]
