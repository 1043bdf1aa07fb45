"""The request guard: the checks every HTTP request passes before anything else runs.

It sits in front of the whole application (``service.app.LayerlensAPI``: before the bound
on requests in flight and the fast lane), so the fast lane and FastAPI's routes are held to
the same rules, and a refused request costs one scan of its headers:

- **Header size and count** (``max_header_bytes``, ``max_header_count``): 431. uvicorn's
  httptools parser sets no limit of its own (100 MB header values and 10,000 headers were
  accepted), so without this every later stage would copy them.
- **Host** (``allowed_hosts``): 400 for a name not listed (an IP address always passes:
  rebinding needs a name). A page on another site can make a
  browser send requests to ``localhost:8000``; with DNS rebinding it can also read the
  answers, under its own host name, which is what this refuses. Health checks and /metrics
  are answered whatever the Host (probes and scrapers address a pod by its IP).
- **Origin**: a state-changing request (anything but GET, HEAD, OPTIONS) that carries an
  ``Origin`` other than the service's own is refused with 403: a page on another site can
  POST a form (multipart uploads included) without any CORS preflight. Clients that send no
  ``Origin`` (the SDK, curl, tritonclient) are not browsers on another site and pass.
- **The page's headers**: the page, its assets and the docs pages get a strict
  Content-Security-Policy (own assets only, no inline script, no framing),
  ``X-Content-Type-Options: nosniff`` and ``Referrer-Policy``. API answers are JSON that no
  browser renders, and they are the hot path, so they are left as they are.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.admission import ALWAYS_ANSWERED
from service.errors import ForeignOrigin, HeadersTooLarge, InvalidHost, LayerlensError
from service.middleware import HttpMiddleware, send_refusal

#: The page and its assets load only from the service itself; no inline script anywhere.
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
#: Swagger UI and Redoc style their elements inline, and Redoc searches in a worker it
#: makes from a blob (no inline script, though: Swagger UI's start code is a shipped file,
#: ``static/docs/swagger-init.js``).
DOCS_CSP = PAGE_CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'") + (
    "; worker-src 'self' blob:"
)
_DOCS_PATHS = frozenset({"/docs", "/redoc"})
_API_PREFIXES = ("/v1/", "/v2/", "/v2", "/metrics", "/openapi.json")
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: Host headers whose verdict HostRule keeps.
_HOSTS_REMEMBERED = 256
_COMMON_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]


def host_name(host: str) -> str:
    """``"LocalHost:8000"`` -> ``"localhost"``; ``"[::1]:8000"`` -> ``"::1"``."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def is_ip_literal(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


class HostRule:
    """``allowed_hosts`` as a matcher: exact names, ``*.domain`` suffixes, or ``*``.

    An IP address is always allowed: DNS rebinding, what the rule is for, needs a *name*
    (the attacker's) to point at the service, and the browser then sends that name; a
    request whose Host is an address was addressed to it. Pods, container addresses and
    probes (Kubernetes sends the pod's IP as Host) need no configuration."""

    def __init__(self, allowed: Iterable[str]) -> None:
        names = [name.strip().lower() for name in allowed]
        self.any = "*" in names
        self.exact = frozenset(host_name(n) for n in names if not n.startswith("*."))
        self.suffixes = tuple(n[1:] for n in names if n.startswith("*."))
        #: Host header -> allowed: clients send the same few, and parsing an address on
        #: every request cost a tenth of a JSON prediction's time in the process.
        self._decided: dict[str, bool] = {}

    def allows(self, host: str) -> bool:
        if self.any:
            return True
        known = self._decided.get(host)
        if known is None:
            known = self._decide(host)
            if len(self._decided) >= _HOSTS_REMEMBERED:
                self._decided.clear()  # a client cycling Host names gains nothing but a miss
            self._decided[host] = known
        return known

    def _decide(self, host: str) -> bool:
        name = host_name(host)
        if is_ip_literal(name):
            return True
        return name in self.exact or (bool(self.suffixes) and name.endswith(self.suffixes))


class RequestGuard(HttpMiddleware):
    """ASGI middleware applying the checks above; see the module docstring.

    It is the first layer of every request, so its ``__call__`` is :meth:`handle` itself
    (one coroutine frame, not the base's two)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        allowed_hosts: Iterable[str],
        max_header_bytes: int,
        max_header_count: int,
    ) -> None:
        super().__init__(app)
        self.hosts = HostRule(allowed_hosts)
        self.max_header_bytes = max_header_bytes
        self.max_header_count = max_header_count

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        error = self.refusal(scope)
        if error is not None:
            await send_refusal(scope, receive, send, error)
            return
        path = scope["path"]
        if path.startswith(_API_PREFIXES):
            await self.app(scope, receive, send)
        else:
            csp = DOCS_CSP if path in _DOCS_PATHS else PAGE_CSP
            await self.app(scope, receive, _with_page_headers(send, csp))

    __call__ = handle

    def refusal(self, scope: Scope) -> LayerlensError | None:
        """The error a request is refused with, or None when it may go on."""
        headers = scope["headers"]
        if len(headers) > self.max_header_count:
            return HeadersTooLarge(
                f"{len(headers)} request headers; at most {self.max_header_count} "
                "(max_header_count)"
            )
        size = 0
        raw_host = raw_origin = b""
        for name, value in headers:  # one pass: the size, the Host and the Origin
            size += len(name) + len(value)
            if name == b"host":
                raw_host = value
            elif name == b"origin":
                raw_origin = value
        if size > self.max_header_bytes:
            return HeadersTooLarge(
                f"request headers take {size} bytes; at most {self.max_header_bytes} "
                "(max_header_bytes)"
            )
        host = raw_host.decode("latin-1")
        origin = raw_origin.decode("latin-1") if raw_origin else ""
        if scope["path"] not in ALWAYS_ANSWERED and not self.hosts.allows(host):
            return InvalidHost(
                f"host {host[:80]!r} is not a name this service answers to (allowed_hosts)"
            )
        if origin and scope["method"] not in _SAFE_METHODS and not same_origin(origin, host):
            return ForeignOrigin(
                f"requests from the page of {origin[:80]!r} are refused: only the service's "
                "own pages (or clients that send no Origin) may send them"
            )
        return None


def same_origin(origin: str, host: str) -> bool:
    """Whether ``Origin: scheme://host[:port]`` names the host the request was sent to."""
    try:
        netloc = urlsplit(origin).netloc
    except ValueError:
        return False
    return bool(netloc) and netloc.lower() == host.strip().lower()


def _with_page_headers(send: Send, csp: str) -> Send:
    extra = [*_COMMON_HEADERS, (b"content-security-policy", csp.encode())]

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", ()), *extra]
        await send(message)

    return wrapped
