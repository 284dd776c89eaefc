"""What each site's and slot's own host answers, beyond the plain page: scripted health
paths, custom routes registered by tests and users, and extra host names (a custom domain or
a front door in front of the app). Kept beside the ``World`` (like ``site_ops.Ops``), keyed by
the ``Site`` object, so every slot has its own.

Health behaviours (:class:`Health`) answer JSON ``{"status": ..., "build": ...}`` with the
build the site or slot serves *now* (deployments and swaps change it). Every app serves
``GET /healthz`` as healthy until a test scripts it. A crash-looping or stopped container
answers 503/403 on every path, scripted or not (see ``apps.py``).

Custom routes: ``handler(request_info) -> (status, headers, body)``, plain Python, called on
the emulator's event loop thread (keep it quick; it must not block). ``body`` may be bytes,
str, or anything JSON-serialisable (sent as ``application/json``).
"""

from __future__ import annotations

import json
import threading
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_appservice.testing import easyauth
from airflow_provider_appservice.testing.model import HostInfo, Principal, Site
from airflow_provider_appservice.testing.state import World

MAX_HEALTH_DELAY = 5.0  # seconds; a bound so a slow health path cannot hang a test run
DEFAULT_HEALTH_PATH = "/healthz"


@dataclass(frozen=True)
class RequestInfo:
    """What a custom route's handler is told about the request.

    :ivar method: upper-case HTTP method.
    :ivar path: the path, without the query string.
    :ivar query: query parameters (the last value wins when a name repeats).
    :ivar headers: request headers, names in lower case; ``authorization`` is never included
        (not even its value's shape): use ``caller``.
    :ivar body: the raw request body.
    :ivar json: the body parsed as JSON when it is JSON, else None.
    :ivar caller: the claims of the bearer token Easy Auth accepted (``aud``, ``appid``,
        ``oid``, ``tid``, ...), or None for an anonymous request (Easy Auth off, an excluded
        path, or ``AllowAnonymous`` without a token).
    :ivar host: the host name the request came to (a custom domain included).
    :ivar site: the emulated ``Site`` (site or slot) serving it.
    :ivar build: the build that site or slot serves now.
    """

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    json: Any
    caller: dict[str, Any] | None
    host: str
    site: Site
    build: str


Handler = Callable[[RequestInfo], tuple[int, Mapping[str, str] | None, Any]]


@dataclass(eq=False)
class AppRoute:
    """A registered route; ``calls`` counts the requests it answered, ``remove()`` drops it."""

    site: Site
    method: str  # upper case, or "*" for any method
    path: str
    handler: Handler
    calls: int = 0
    _book: AppBook | None = field(default=None, repr=False)

    def matches(self, method: str, path: str) -> bool:
        return self.path == path and self.method in ("*", method)

    def remove(self) -> None:
        if self._book is not None:
            with self._book.lock:
                routes = self._book.routes.get(self.site, [])
                if self in routes:
                    routes.remove(self)


@dataclass(eq=False)
class HealthBehaviour:
    """One scripted health path. Built by :class:`Health`; ``probes`` counts answers served."""

    kind: str
    pattern: tuple[bool, ...] = ()  # good/bad answers in order (kinds "pattern")
    repeat: bool = False  # start the pattern again when it runs out (else: the last answer stays)
    status: int = 200  # kind "status"
    body: Any = None  # kind "status"
    delay: float = 0.0  # kind "slow"
    then: HealthBehaviour | None = None  # kind "slow": what answers after the delay
    probes: int = 0

    def next_answer(self, build: str) -> tuple[int, Any, float]:
        """(status, body, delay) of the next probe; counts it."""
        n = self.probes
        self.probes += 1
        if self.kind == "slow":
            inner = self.then or Health.healthy()
            status, body, _ = inner.next_answer(build)
            return status, body, min(self.delay, MAX_HEALTH_DELAY)
        if self.kind == "degraded":
            return 200, {"status": "Degraded", "build": build}, 0.0
        if self.kind == "status":
            return self.status, self.body if self.body is not None else {"status": f"HTTP {self.status}"}, 0.0
        good = True
        if self.pattern:
            good = self.pattern[n % len(self.pattern)] if self.repeat else self.pattern[min(n, len(self.pattern) - 1)]
        if good:
            return 200, {"status": "Healthy", "build": build}, 0.0
        return 503, {"status": "Unhealthy", "build": build}, 0.0


class Health:
    """Constructors of health behaviours for ``emu.set_health``."""

    @staticmethod
    def healthy() -> HealthBehaviour:
        """200 ``{"status": "Healthy", "build": ...}`` every time."""
        return HealthBehaviour("pattern", (True,))

    @staticmethod
    def unhealthy(probes: int | None = None) -> HealthBehaviour:
        """503 ``{"status": "Unhealthy"}``: for the first ``probes`` probes, then healthy; always when None."""
        if probes is None:
            return HealthBehaviour("pattern", (False,))
        if probes < 0:
            raise ValueError("probes must be >= 0")
        return HealthBehaviour("pattern", (False,) * probes + (True,))

    @staticmethod
    def flapping(pattern: str | Sequence[bool], repeat: bool = True) -> HealthBehaviour:
        """Good and bad answers in order: ``"++-+++"`` (``+`` healthy, ``-`` unhealthy) or a
        sequence of bools. ``repeat``: start again when it runs out; else the last answer stays."""
        if isinstance(pattern, str):
            if not pattern or set(pattern) - {"+", "-"}:
                raise ValueError("pattern must be a non-empty string of '+' and '-'")
            values = tuple(c == "+" for c in pattern)
        else:
            values = tuple(bool(v) for v in pattern)
            if not values:
                raise ValueError("pattern must not be empty")
        return HealthBehaviour("pattern", values, repeat=repeat)

    @staticmethod
    def slow(seconds: float, then: HealthBehaviour | None = None) -> HealthBehaviour:
        """Wait ``seconds`` (at most :data:`MAX_HEALTH_DELAY`) before answering like ``then`` (healthy)."""
        if seconds < 0:
            raise ValueError("seconds must be >= 0")
        return HealthBehaviour("slow", delay=float(seconds), then=then)

    @staticmethod
    def degraded() -> HealthBehaviour:
        """Wrong content: 200 with ``{"status": "Degraded", "build": ...}``."""
        return HealthBehaviour("degraded")

    @staticmethod
    def status(code: int, body: Any = None) -> HealthBehaviour:
        """Any status with any body (JSON unless bytes/str)."""
        return HealthBehaviour("status", status=int(code), body=body)

    @staticmethod
    def named(name: str) -> HealthBehaviour:
        """``healthy``, ``unhealthy``, ``degraded`` by name."""
        makers: dict[str, Callable[[], HealthBehaviour]] = {
            "healthy": Health.healthy,
            "unhealthy": Health.unhealthy,
            "degraded": Health.degraded,
        }
        try:
            return makers[name]()
        except KeyError:
            raise ValueError(f"unknown health behaviour {name!r}; use one of {sorted(makers)} or Health.*") from None


@dataclass
class AppBook:
    """Per-emulator app behaviour: health scripts, routes and extra host names per site/slot."""

    lock: threading.RLock
    health: dict[tuple[Site, str], HealthBehaviour] = field(default_factory=dict)
    routes: dict[Site, list[AppRoute]] = field(default_factory=dict)
    custom_domains: dict[Site, list[str]] = field(default_factory=dict)


_BOOKS: weakref.WeakKeyDictionary[World, AppBook] = weakref.WeakKeyDictionary()


def book_of(world: World) -> AppBook:
    with world.lock:
        book = _BOOKS.get(world)
        if book is None:
            book = _BOOKS[world] = AppBook(world.lock)
        return book


def health_for(world: World, site: Site, path: str) -> HealthBehaviour | None:
    """The scripted behaviour of ``path``, or healthy for the default ``/healthz``."""
    book = book_of(world)
    with book.lock:
        behaviour = book.health.get((site, path))
        if behaviour is None and path == DEFAULT_HEALTH_PATH:
            behaviour = book.health[(site, path)] = Health.healthy()
        return behaviour


def route_for(world: World, site: Site, method: str, path: str) -> AppRoute | None:
    book = book_of(world)
    with book.lock:
        for route in reversed(book.routes.get(site, [])):  # the latest registration wins
            if route.matches(method, path):
                route.calls += 1
                return route
    return None


def encode_body(body: Any) -> tuple[bytes, str]:
    """(bytes, media type) of a handler's or health script's body."""
    if body is None:
        return b"", "text/plain; charset=utf-8"
    if isinstance(body, bytes):
        return body, "application/octet-stream"
    if isinstance(body, str):
        return body.encode(), "text/plain; charset=utf-8"
    return json.dumps(body, separators=(",", ":")).encode(), "application/json; charset=utf-8"


class AppEndpointsMixin:
    """The emulator's public API for the apps' own endpoints (mixed into ``AppServiceEmulator``)."""

    world: World

    def enable_easy_auth(
        self,
        site: Site,
        audiences: Sequence[str] | None = None,
        client_app: Principal | None = None,
        unauthenticated_action: str = "RedirectToLoginPage",
        excluded_paths: Sequence[str] = (DEFAULT_HEALTH_PATH,),
        *,
        allowed_client_applications: Sequence[Principal | str] | None = None,
        required_callers: Sequence[Principal | str] | None = None,
        anonymous_redirect: str = "browsers",
    ) -> Principal:
        """Put Easy Auth (Microsoft Entra provider) in front of this site or slot; returns its
        app registration, whose client id is the implicit audience (``<client-id>`` and
        ``api://<client-id>`` are both accepted). ``audiences``: more ``allowedAudiences``
        (e.g. an Application ID URI ``https://api.contoso.com/orders``; Entra then issues
        tokens for it too). ``client_app``: reuse an existing app registration of the tenant.
        ``unauthenticated_action``: ``RedirectToLoginPage`` (302 for a browser-style request,
        else 401), ``Return401``, ``Return403`` or ``AllowAnonymous``. ``excluded_paths``:
        served anonymously. ``allowed_client_applications``: only these callers' tokens pass
        (others get 403). ``required_callers``: Entra issues tokens for this API only to these
        principals (AADSTS501051 for the rest). ``anonymous_redirect``: ``"browsers"`` (only
        ``Accept: text/html`` is redirected) or ``"all"`` (every anonymous non-XHR request).
        See ``testing/easyauth.py`` for what is modelled and what is UNVERIFIED."""
        return easyauth.enable(
            self.world,
            site,
            audiences=audiences,
            client_app=client_app,
            unauthenticated_action=unauthenticated_action,
            excluded_paths=excluded_paths,
            allowed_client_applications=allowed_client_applications,
            required_callers=required_callers,
            anonymous_redirect=anonymous_redirect,
        )

    def disable_easy_auth(self, site: Site) -> None:
        easyauth.disable(self.world, site)

    def easy_auth_settings(self, site: Site) -> dict[str, Any] | None:
        """The modelled part of ``authsettingsV2`` for this site or slot (None when off)."""
        cfg = easyauth.config_of(self.world, site)
        return cfg.as_settings() if cfg is not None else None

    def set_health(
        self, site: Site, path: str = DEFAULT_HEALTH_PATH, behaviour: str | HealthBehaviour = "healthy"
    ) -> HealthBehaviour:
        """Script how ``path`` of this site or slot answers ``GET``: a :class:`Health` behaviour
        or ``"healthy"``/``"unhealthy"``/``"degraded"``. Replaces the previous script of that
        path (its probe count starts again). Returns it (``.probes`` counts answers)."""
        if not path.startswith("/"):
            raise ValueError("path must start with '/'")
        script = Health.named(behaviour) if isinstance(behaviour, str) else behaviour
        book = book_of(self.world)
        with book.lock:
            book.health[(site, path)] = script
        return script

    def health_probes(self, site: Site, path: str = DEFAULT_HEALTH_PATH) -> int:
        """How many probes the scripted ``path`` of this site or slot answered."""
        book = book_of(self.world)
        with book.lock:
            script = book.health.get((site, path))
            return script.probes if script is not None else 0

    def add_app_route(self, site: Site, method: str, path: str, handler: Handler) -> AppRoute:
        """Serve ``method path`` (exact path; method ``"*"`` for any) on this site's or slot's
        host with ``handler(request_info) -> (status, headers, body)`` (see :class:`RequestInfo`).
        Easy Auth (when enabled) runs first; a stopped or crash-looping app never reaches it.
        A later registration of the same method and path wins."""
        if not path.startswith("/"):
            raise ValueError("path must start with '/'")
        book = book_of(self.world)
        route = AppRoute(site, method.upper(), path, handler, _book=book)
        with book.lock:
            book.routes.setdefault(site, []).append(route)
        return route

    def add_function(
        self, site: Site, path: str, keys: Sequence[str], method: str = "*", handler: Handler | None = None
    ) -> AppRoute:
        """Serve ``path`` as a function with ``authLevel: function``: like the Functions host it
        answers 401 (empty body) unless the request carries one of ``keys`` in the
        ``x-functions-key`` header or the ``code`` query parameter; then ``handler`` (default:
        200 ``{"function": path, "build": ...}``). Easy Auth, when enabled, runs first."""
        accepted = frozenset(keys)
        if not accepted or not all(isinstance(k, str) and k for k in accepted):
            raise ValueError("keys must name at least one non-empty key")

        def with_key(info: RequestInfo) -> tuple[int, Mapping[str, str] | None, Any]:
            given = info.headers.get("x-functions-key") or info.query.get("code")
            if given not in accepted:
                return 401, None, None
            if handler is not None:
                return handler(info)
            return 200, None, {"function": info.path, "build": info.build}

        return self.add_app_route(site, method, path, with_key)

    def add_custom_domain(self, site: Site, host: str) -> str:
        """Serve this site's or slot's app under ``host`` too: a custom domain or a front door
        (Front Door, Application Gateway, ...) forwarding to it. ARM does not report it, so an
        app token may go there only if the connection's ``allowed_hosts`` names it."""
        host = host.strip().lower().rstrip(".")
        if not host or "/" in host or ":" in host:
            raise ValueError("host must be a bare host name")
        world = self.world
        with world.lock:
            existing = world.resolve_host(host)
            if existing is not None and existing.kind != "app":
                raise ValueError(f"{host} is already an emulated {existing.kind} host")
            cloud = world.cloud_of_tenant(world.subscriptions[site.subscription_id].tenant_id)
            world._register_host(host, HostInfo("app", cloud, site))
            book_of(world).custom_domains.setdefault(site, []).append(host)
        return host

    def custom_domains(self, site: Site) -> list[str]:
        book = book_of(self.world)
        with book.lock:
            return list(book.custom_domains.get(site, []))
