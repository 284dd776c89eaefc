"""``AppServiceEmulator``: the local Azure that real SDK clients reach over real TLS.

Start it (context manager), seed it (tenants, identities, roles, sites, vaults), point a
process at it with :attr:`AppServiceEmulator.env` or :meth:`AppServiceEmulator.apply_env`, and
assert on :attr:`~AppServiceEmulator.requests`. One emulator can serve a whole test session:
every ``add_*`` makes fresh ids, and :meth:`reset` clears faults, journal and clock between
tests.

Journal kinds: ``discovery`` and ``token`` (Entra), ``msi`` (App Service managed identity),
``imds``, ``arm``, ``vault``, ``app``, ``scm``, ``blob`` (also Kudu fetching a ``packageUri``),
``proxy-refused``, ``unknown``. A request's
``audience``/``client_id`` are those of the bearer token it carried; token issuance is counted
by :meth:`token_requests`.

Where the emulator knowingly differs from the brief it was built to, it follows real Azure:
Owner/Contributor grant no Key Vault data actions; ARM answers ``AuthenticationFailed`` for a
missing token and ``ExpiredAuthenticationToken`` for an expired one; the MSI/IMDS endpoints
serve the most recently added system-assigned identity (see :meth:`use_system_identity`).
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from airflow_provider_appservice.testing import (
    apps,
    arm,
    arm_account,
    arm_create,
    arm_deployments,
    arm_publishing,
    arm_sites,
    blobs,
    entra,
    kudu,
    msi,
    vault,
)
from airflow_provider_appservice.testing.app_behaviour import AppEndpointsMixin
from airflow_provider_appservice.testing.asgi import EmulatorApp
from airflow_provider_appservice.testing.deployments import Deployment, DeploymentBehaviour, book_of
from airflow_provider_appservice.testing.emulator_ops import ARM_WRITE_AREAS, SiteOperationsMixin
from airflow_provider_appservice.testing.faults import Fault, FaultRegistry
from airflow_provider_appservice.testing.journal import Request
from airflow_provider_appservice.testing.model import Principal, Site, Tenant
from airflow_provider_appservice.testing.server import ServerThread
from airflow_provider_appservice.testing.state import World
from airflow_provider_appservice.testing.tls import EmulatorCA

_DEFAULT_STATUS = 503

# ARM areas register their routes here (one module per area).
ARM_AREAS: list[Callable[[arm.ArmRoutes], None]] = [
    arm_account.register,
    arm_sites.register,
    arm_deployments.register,
    arm_create.register,
    arm_publishing.register,
]
ARM_AREAS.extend(ARM_WRITE_AREAS)  # restart/start/stop, swap, settings, config/web


class AppServiceEmulator(SiteOperationsMixin, AppEndpointsMixin):
    def __init__(
        self,
        token_format: str = "jwt",
        token_lifetime: int = 3600,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._defaults = (token_format, token_lifetime)
        self._dir = tempfile.mkdtemp(prefix="appservice-emulator-")  # 0700
        self._ca = EmulatorCA(self._dir)
        self.world = World(self._dir, token_format, token_lifetime, clock)
        self._faults = FaultRegistry()
        self.identity_header = secrets.token_urlsafe(24)
        self._server: ServerThread | None = None

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> AppServiceEmulator:
        if self._server is not None:
            return self
        server = ServerThread(
            self._make_app,
            is_known=lambda host: self.world.resolve_host(host) is not None,
            ssl_context_for=self._ca.server_context,
            on_refused=self._refused,
        )
        server.start()
        self._server = server
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> AppServiceEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _make_app(self, abort_connection: Callable[[Any], None]) -> EmulatorApp:
        routes = arm.ArmRoutes()
        for register in ARM_AREAS:
            register(routes)
        routers = {
            "entra": entra.router(self.world),
            "local": msi.router(self.world, self.identity_header),
            "arm": arm.router(self.world, routes),
            "vault": vault.router(self.world),
            "app": apps.app_router(self.world),
            "scm": kudu.router(self.world),
            "blob": blobs.router(self.world),
        }
        return EmulatorApp(self.world, self._faults, routers, abort_connection)  # type: ignore[arg-type]

    def _refused(self, method: str, host: str) -> None:
        self.world.journal.record(Request(method, host, "", 403, "proxy-refused", time=self.world.now()))

    @property
    def _running(self) -> ServerThread:
        if self._server is None:
            raise RuntimeError("the emulator is not running; use it as a context manager or call start()")
        return self._server

    # -- how a process reaches it ---------------------------------------------------------------
    @property
    def ca_path(self) -> str:
        return self._ca.ca_path

    @property
    def data_dir(self) -> str:
        """Private (0700) directory holding the CA certificate, certificates and token files."""
        return self._dir

    @property
    def http_port(self) -> int:
        return self._running.http_port

    @property
    def proxy_port(self) -> int:
        return self._running.proxy_port

    @property
    def proxy_url(self) -> str:
        return f"http://127.0.0.1:{self.proxy_port}"

    @property
    def env(self) -> dict[str, str]:
        """Environment that routes a process's Azure traffic here. No ``AZURE_AUTHORITY_HOST``:
        clients keep their real cloud host names. ``HTTP_PROXY`` is deliberately not set (plain
        http to other hosts keeps working); a client that wants to follow a Kudu ``http://…:80``
        URL can use :attr:`proxy_url` as its http proxy."""
        proxy = self.proxy_url
        local = f"http://127.0.0.1:{self.http_port}"
        return {
            "HTTPS_PROXY": proxy,
            "https_proxy": proxy,
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
            "REQUESTS_CA_BUNDLE": self.ca_path,
            "SSL_CERT_FILE": self.ca_path,
            "CURL_CA_BUNDLE": self.ca_path,
            "IDENTITY_ENDPOINT": f"{local}/msi/token",
            "IDENTITY_HEADER": self.identity_header,
            "AZURE_POD_IDENTITY_AUTHORITY_HOST": local,
        }

    @contextlib.contextmanager
    def apply_env(self) -> Iterator[dict[str, str]]:
        """Set :attr:`env` in ``os.environ`` for the block, then restore what was there."""
        env = self.env
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            yield env
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v

    # -- tokens and time ----------------------------------------------------------------------------
    @property
    def token_lifetime(self) -> int:
        return self.world.token_lifetime

    @token_lifetime.setter
    def token_lifetime(self, seconds: int) -> None:
        self.world.token_lifetime = int(seconds)

    @property
    def token_format(self) -> str:
        return self.world.token_format

    @token_format.setter
    def token_format(self, value: str) -> None:
        if value not in ("jwt", "opaque"):
            raise ValueError("token_format must be 'jwt' or 'opaque'")
        self.world.token_format = value

    @property
    def clock(self) -> Callable[[], float]:
        """The emulator's "now" (epoch seconds): token issuance and expiry use it."""
        return self.world.now

    @clock.setter
    def clock(self, clock: Callable[[], float]) -> None:
        self.world.clock = clock

    def advance(self, seconds: float) -> None:
        """Move the emulator's clock forward (tokens expire without anyone sleeping)."""
        self.world.clock_offset += seconds

    def issued_tokens(self) -> list[str]:
        """Every token the emulator minted (access tokens and federated token files)."""
        return self.world.issued_tokens()

    def token_requests(self, audience: str | None = None, client_id: str | None = None) -> int:
        """How many tokens were issued (token endpoint, MSI, IMDS) since the last :meth:`reset`."""
        return self.world.journal.token_requests(audience, client_id)

    @property
    def requests(self) -> list[Request]:
        return self.world.journal.requests

    # -- faults ------------------------------------------------------------------------------------
    def fault(
        self,
        status: int | None = -1,
        host: str | None = None,
        path: str | None = None,
        method: str | None = None,
        times: int | None = 1,
        retry_after: float | str | None = None,
        retry_after_ms: int | None = None,
        reset: bool = False,
        delay: float = 0.0,
        body: bytes | str | dict | None = None,
        kind: str | None = None,
        apply_then_fail: bool = False,
    ) -> Fault:
        """Make matching requests fail: answer ``status`` (503 unless given), or with
        ``reset=True`` close the connection unanswered. ``delay`` seconds pass first; a delay
        without an explicit status lets the real route answer afterwards. ``path`` is a regex
        (``re.search``); ``times=None`` means every time. With ``apply_then_fail=True`` the real
        route runs first (its effects happen, e.g. a swap starts) and the client still gets the
        status or reset: an ambiguous failure. Returns a handle (``.hits``, ``.remove()``)."""
        if status == -1:
            status = None if delay else _DEFAULT_STATUS
        return self._faults.add(
            Fault(
                status=None if reset else status,
                host=host,
                path=re.compile(path) if path is not None else None,
                method=method,
                kind=kind,
                times=times,
                retry_after=retry_after,
                retry_after_ms=retry_after_ms,
                reset=reset,
                delay=delay,
                body=body,
                apply_then_fail=apply_then_fail,
            )
        )

    def clear_faults(self) -> None:
        self._faults.clear()

    def reset(self) -> None:
        """Between tests on a shared emulator: no faults, an empty journal, the real clock and
        the constructor's token settings. Seeded state and issued tokens stay."""
        self.clear_faults()
        self.world.journal.clear()
        self.world.clock_offset = 0.0
        self.world.token_format, self.world.token_lifetime = self._defaults
        self._reset_site_operations()

    # -- seeding (see state.World for the details) -------------------------------------------------
    def add_tenant(self, cloud: str = "public", tenant_id: str | None = None) -> Tenant:
        return self.world.add_tenant(cloud, tenant_id)

    def add_subscription(self, tenant: Tenant | str, subscription_id: str | None = None) -> str:
        return self.world.add_subscription(tenant, subscription_id)

    def add_resource_group(self, subscription_id: str, name: str) -> str:
        return self.world.add_resource_group(subscription_id, name)

    def add_service_principal(
        self, tenant: Tenant | str, client_id: str | None = None, secret: str | None = None
    ) -> Principal:
        return self.world.add_service_principal(tenant, client_id, secret)

    def add_certificate_principal(
        self, tenant: Tenant | str, password: str | None = None, client_id: str | None = None
    ) -> Principal:
        return self.world.add_certificate_principal(tenant, password, client_id)

    def add_managed_identity(
        self, tenant: Tenant | str, user_assigned: bool = False, name: str | None = None
    ) -> Principal:
        return self.world.add_managed_identity(tenant, user_assigned, name)

    def use_system_identity(self, identity: Principal) -> None:
        """Make ``identity`` the one MSI/IMDS return when a request names no identity."""
        if identity.kind != "managed_identity" or identity.user_assigned:
            raise ValueError("not a system-assigned managed identity")
        with self.world.lock:
            self.world.system_identity = identity

    def add_workload_identity(self, tenant: Tenant | str, subject: str | None = None) -> Principal:
        return self.world.add_workload_identity(tenant, subject)

    def refresh_token_file(self, principal: Principal) -> str:
        return self.world.refresh_token_file(principal)

    def add_app_registration(self, tenant: Tenant | str, trusts: Principal) -> Principal:
        return self.world.add_app_registration(tenant, trusts)

    def assign_role(self, principal: Principal, role: str, scope: Any) -> None:
        self.world.assign_role(principal, role, scope)

    def add_site(
        self,
        subscription_id: str,
        resource_group: str,
        name: str,
        kind: str = "app,linux",
        plan_sku: str = "P1v3",
        location: str = "westeurope",
        regional: bool = False,
    ) -> Site:
        return self.world.add_site(subscription_id, resource_group, name, kind, plan_sku, location, regional)

    def add_slot(self, site: Site, slot: str) -> Site:
        return self.world.add_slot(site, slot)

    def add_vault(
        self,
        tenant: Tenant | str,
        name: str,
        subscription_id: str | None = None,
        resource_group: str = "rg-vaults",
    ) -> str:
        return self.world.add_vault(tenant, name, subscription_id, resource_group)

    def set_secret(self, vault_url: str, name: str, value: str, content_type: str | None = None) -> str:
        return self.world.set_secret(vault_url, name, value, content_type)

    # -- Kudu deployments (see testing/kudu.py and testing/deployments.py) -------------------------
    def deployment_behaviour(
        self,
        site: Site,
        *,
        duration: float | None = None,
        polls: int | None = None,
        outcome: str = "success",
        log_lines: Sequence[str] = (),
        error: str | None = None,
        stale_latest: bool | int = True,
        jump: bool | None = None,
        runtime: str | None = None,
        runtime_after: float = 0,
        instances: int = 1,
        retry_after: int | None = None,
    ) -> DeploymentBehaviour:
        """How the next deployments to ``site`` (a site or a slot) go, until changed.

        ``duration``: emulator-clock seconds from upload to Kudu's final status (``advance``);
        or ``polls``: the N-th status poll (Kudu ``/api/deployments/...`` or ARM
        ``deploymentStatus``) is the first to see it finished. Neither: 3 polls.
        ``outcome``: ``"success"`` (status 4, the site's ``build`` changes) or ``"failed"``
        (status 3, ``error`` in the log and in ARM's ``BuildFailed``). ``log_lines``: build
        output shown under "Running deployment command...". ``stale_latest``: how many first
        ``/api/deployments/latest`` polls show a stale temporary record (True = 1).
        ``jump``: report 0 until final (default: Linux sites yes, Windows no).
        ``runtime``: ARM's final status, ``RuntimeSuccessful`` (production default),
        ``BuildSuccessful`` (slot default, a reported quirk) or ``RuntimeFailed``;
        ``runtime_after`` more units (seconds or polls) of ``RuntimeStarting`` before it.
        ``retry_after``: send ``Retry-After`` on Kudu 202s (absent by default).
        """
        stale = int(stale_latest) if not isinstance(stale_latest, bool) else (1 if stale_latest else 0)
        kwargs: dict[str, Any] = {} if error is None else {"error": error}
        behaviour = DeploymentBehaviour(
            duration=duration,
            polls=polls,
            outcome=outcome,
            log_lines=tuple(log_lines),
            stale_latest=stale,
            jump=jump,
            runtime=runtime,
            runtime_after=runtime_after,
            instances=instances,
            retry_after=retry_after,
            **kwargs,
        )
        book_of(self.world).set_behaviour(site, behaviour)
        return behaviour

    def deployments(self, site: Site) -> list[Deployment]:
        """The site's (or slot's) deployments, oldest first, brought up to the emulator's clock."""
        return book_of(self.world).of_site(site)

    def deployment(self, deployment_id: str) -> Deployment | None:
        book = book_of(self.world)
        with self.world.lock:
            dep = book.by_id.get(deployment_id.lower())
            if dep is not None:
                book.settle(dep)
            return dep

    def build_of(self, site: Site) -> str:
        """Which build ``site`` serves now. Deployments the clock finished apply first; then the
        ARM operations' own ``build_of`` (swaps) if that mixin is present."""
        book_of(self.world).of_site(site)
        base = getattr(super(), "build_of", None)
        if base is not None:
            return str(base(site))
        with self.world.lock:
            return site.build

    def publishing_credentials(self, site: Site) -> tuple[str, str]:
        """(user, password) for SCM basic auth; refused unless ``site.basic_auth_enabled``."""
        return kudu.publishing_user(site), site.publishing_password

    def add_blob(
        self,
        account: str,
        container: str,
        name: str,
        data: bytes,
        *,
        cloud: str = "public",
        public: bool = False,
        expires_in: float = 3600,
    ) -> str:
        """Serve ``data`` as a blob of the emulator's Storage host; returns its URL with a read
        SAS (``?sv=…&sig=…``, checked loosely) unless ``public``. For OneDeploy ``packageUri``."""
        return blobs.add_blob(self.world, account, container, name, data, cloud, public, expires_in)
