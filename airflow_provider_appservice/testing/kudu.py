"""Kudu (the SCM site) on every site's and slot's ``Repository`` host name: OneDeploy
(``/api/publish``), zipdeploy, deployment status and logs, and the ``/api/settings`` warm-up.

Shapes follow azure-apis.md §2, §9 and §10 (recorded traffic wins over the Kudu sources):

- Auth: a bearer token of the site's tenant for App Service (``https://appservice.azure.com``,
  what az asks for; the classic management resource in China/US Gov) or for ARM (real Kudu
  accepts both; any other audience gets 401), whose principal may
  ``Microsoft.Web/sites[/slots]/publish/action`` (Website Contributor, Contributor, Owner; a
  Reader gets 403). Basic auth with the publishing credentials works only when the site's
  ``basic_auth_enabled`` is True (default False, like hardened tenants): otherwise 401.
- Uploads are streamed to a file (0600) under the emulator's private directory while their
  sha256 is computed; the deployment records ``checksum`` and ``bytes``, never content.
  ``{"packageUri": ...}`` is fetched in-process from the emulator's blob host (``blobs``).
- Async answers 202 with ``Location`` ``https://<scm>/api/deployments/latest?deployer=…&time=…``
  (the poll answers' own ``Location`` is plain ``http://<scm>:80`` on Linux sites, as
  recorded, ``https://<scm>`` on Windows sites); Linux records carry ``build_summary``; and an
  ``SCM-DEPLOYMENT-ID`` header **always** (the Kudu source adds it only with
  ``trackDeploymentProgress=true``; recorded Linux traffic shows it without), equal to the
  deployment id that ``/api/deployments/{id}`` and ARM ``deploymentStatus/{id}`` know.
  ``Retry-After`` only when the behaviour's ``retry_after`` is set (real Kudu sources send one;
  recorded traffic does not show it).
- 409 texts: "deployment in progress" (transient) and "Run-From-Zip … remote URL" (permanent),
  sent after the request body was read, as Kudu does.
- ``/api/deployments/latest``: the newest deployment's stale temporary record for its first
  ``stale_latest`` polls while it has not finished (202), then 202 with ``status`` 0 (Linux; Windows shows the real status
  and ``provisioningState``) while one runs, then 200 with the last finished one; 404 if none.

UNVERIFIED: the text of 401/403/404 bodies; a failed *synchronous* deployment answering 400 with
the error text; OneDeploy type checks beyond the type name (Kudu also checks the stack).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import json
import os
import secrets
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route, Router

from airflow_provider_appservice.testing.blobs import BlobStore, store_of
from airflow_provider_appservice.testing.deployments import PENDING, Deployment, DeploymentBook, LogEntry, book_of, iso
from airflow_provider_appservice.testing.journal import Request as JournalEntry
from airflow_provider_appservice.testing.model import Site
from airflow_provider_appservice.testing.responses import bearer_token, host_info, json_response
from airflow_provider_appservice.testing.state import World

ONEDEPLOY_TYPES = {"war", "jar", "ear", "lib", "startup", "static", "zip", "script"}
IN_PROGRESS = "There is a deployment currently in progress. Please try again when it completes."
RUN_FROM_REMOTE_ZIP = (
    "Run-From-Zip is set to a remote URL using WEBSITE_RUN_FROM_PACKAGE or WEBSITE_USE_ZIP app setting. "
    "Deployment is not supported in this configuration."
)
RUN_FROM_SETTINGS = ("WEBSITE_RUN_FROM_PACKAGE", "WEBSITE_USE_ZIP")
MAX_JSON_BODY = 64 * 1024
COPY_CHUNK = 1024 * 1024


def publishing_user(site: Site) -> str:
    """``$app`` for a site, ``$app__slot`` for a slot (the form ``publishingcredentials`` reports)."""
    return f"${site.site_name}__{site.slot}" if site.slot else f"${site.site_name}"


def _flag(request: Request, name: str, default: bool | None) -> bool | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() == "true"


def _text(status: int, text: str, headers: dict[str, str] | None = None) -> Response:
    return PlainTextResponse(text, status_code=status, headers=headers)


def _not_found(message: str) -> Response:
    return json_response({"Message": message}, 404)


class Kudu:
    def __init__(self, world: World, book: DeploymentBook, blobs: BlobStore) -> None:
        self.world = world
        self.book = book
        self.blobs = blobs

    # -- auth ----------------------------------------------------------------------------------------
    def authenticate(self, request: Request, site: Site) -> Response | None:
        """None when the caller may use this SCM site, else the 401/403 to send."""
        world = self.world
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "basic":
            if not site.basic_auth_enabled:
                return _text(401, "Basic authentication is disabled for this site. Use a Microsoft Entra token.")
            try:
                user, _, password = base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return _text(401, "401 Unauthorized: bad Basic credentials.")
            if user.lower() == publishing_user(site).lower() and secrets.compare_digest(
                password.encode(), site.publishing_password.encode()
            ):
                return None
            return _text(401, "401 Unauthorized: wrong publishing credentials.")
        token = bearer_token(request)
        if token is None:
            return _text(401, "401 Unauthorized: no credentials.")
        record = world.lookup_token(token)
        if record is None or record.kind != "access" or world.is_expired(record):
            return _text(401, "401 Unauthorized: the bearer token is invalid or expired.")
        cloud = host_info(request).cloud
        assert cloud is not None
        sub = world.subscription(site.subscription_id)
        if record.aud.rstrip("/") not in cloud.scm_audiences or sub is None or record.tid != sub.tenant_id:
            return _text(401, "401 Unauthorized: the bearer token is not for App Service or Azure Resource Manager.")
        action = f"Microsoft.Web/sites/{'slots/' if site.slot else ''}publish/action"
        if not world.is_authorized(record.oid, action, site.id):
            return _text(
                403,
                f"403 Forbidden: the client '{record.appid}' with object id '{record.oid}' does not have "
                f"authorization to perform action '{action}' over scope '{site.id}'.",
            )
        return None

    # -- deploying -----------------------------------------------------------------------------------
    def _conflict(self, site: Site) -> str | None:
        with self.world.lock:
            for name in RUN_FROM_SETTINGS:
                value = site.app_settings.get(name, "")
                if value.strip().lower().startswith(("http://", "https://")):
                    return RUN_FROM_REMOTE_ZIP
        if not self.book.reserve(site):
            return IN_PROGRESS
        return None

    async def _drain(self, request: Request) -> None:
        try:
            async for _ in request.stream():
                pass
        except ClientDisconnect:
            pass

    async def _receive(self, request: Request) -> tuple[str, str, int]:
        """Stream the body to a new 0600 file: (path, sha256 hex, bytes)."""
        path = self.book.package_file()
        digest = hashlib.sha256()
        size = 0
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as f:
                async for chunk in request.stream():
                    if chunk:
                        digest.update(chunk)
                        f.write(chunk)
                        size += len(chunk)
        except BaseException:
            os.unlink(path)
            raise
        return path, digest.hexdigest(), size

    def _fetch(self, url: str) -> tuple[str | None, str, int, str | None]:
        """Kudu downloading a ``packageUri``: only from the emulator's own blob host.
        (path, sha256, bytes, error)."""
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        info = self.world.resolve_host(host)
        shown = f"{parts.scheme}://{host}{parts.path}"  # never the SAS query
        status = 0
        error: str | None = None
        path: str | None = None
        digest, size = hashlib.sha256(), 0
        if parts.scheme != "https" or info is None or info.kind != "blob":
            error = f"Failed to download package from '{shown}': the host cannot be reached."
        else:
            blob, refusal = self.blobs.find(host, parts.path, parts.query, self.world.now())
            status = refusal.status_code if refusal is not None else 200
            if blob is None:
                error = f"Failed to download package from '{shown}': HTTP {status}."
            else:
                path = self.book.package_file()
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with open(blob.path, "rb") as src, os.fdopen(fd, "wb") as dst:
                    while chunk := src.read(COPY_CHUNK):
                        digest.update(chunk)
                        dst.write(chunk)
                        size += len(chunk)
        if info is not None and info.kind == "blob":
            self.world.journal.record(JournalEntry("GET", host, parts.path, status, "blob", time=self.world.now()))
        return path, digest.hexdigest(), size, error

    async def deploy(self, request: Request, onedeploy: bool) -> Response:
        site = host_info(request).target
        assert isinstance(site, Site)
        refused = self.authenticate(request, site)
        if refused is not None:
            await self._drain(request)
            return refused
        q = request.query_params
        if onedeploy:
            artifact = (q.get("type") or "").strip().lower()
            if artifact not in ONEDEPLOY_TYPES:
                await self._drain(request)
                return _text(400, f"type='{q.get('type') or ''}' not recognized")
            is_async = bool(_flag(request, "async", False))
            restart = bool(_flag(request, "restart", True))
            clean = _flag(request, "clean", None)
            if clean is None and artifact == "zip":
                clean = True
            deployer, message = "OneDeploy", "OneDeploy"  # OneDeploy fixes both (azure-apis.md §10)
            author = author_email = "N/A"
        else:
            artifact = "zip"
            is_async = bool(_flag(request, "isAsync", False))
            restart = True
            clean = bool(_flag(request, "clean", False))
            deployer = q.get("deployer") or "ZipDeploy"
            message = q.get("message") or "Created via a push deployment"
            author = q.get("author") or "N/A"
            author_email = q.get("authorEmail") or "N/A"
        is_json = request.headers.get("content-type", "").split(";")[0].strip().lower() == "application/json"
        conflict = self._conflict(site)
        if conflict is not None:
            await self._drain(request)
            return _text(409, conflict)
        dep: Deployment | None = None
        try:
            fetch_error = None
            if is_json:
                raw = b""
                async for chunk in request.stream():
                    raw += chunk
                    if len(raw) > MAX_JSON_BODY:
                        await self._drain(request)
                        return _text(400, "The JSON request body is too large.")
                try:
                    body = json.loads(raw or b"{}")
                    package_uri = body.get("packageUri") if isinstance(body, dict) else None
                except ValueError:
                    package_uri = None
                if not isinstance(package_uri, str) or not package_uri:
                    return _text(400, "PackageUri was empty in the JSON request")
                path, checksum, size, fetch_error = await asyncio.to_thread(self._fetch, package_uri)
                source = "packageUri"
            else:
                path, checksum, size = await self._receive(request)
                source = "body"
            dep = self.book.create(
                site,
                deployer=deployer,
                message=message,
                artifact_type=artifact,
                checksum=checksum,
                size=size,
                package_path=path,
                restart=restart,
                clean=clean,
                path=q.get("path") or None,
                source=source,
                fetch_error=fetch_error,
                author=author,
                author_email=author_email,
                sync=not is_async,
            )
        except ClientDisconnect:
            return _text(400, "The client went away during the upload.")
        finally:
            if dep is None:
                self.book.release(site)
        headers = {"SCM-DEPLOYMENT-ID": dep.id}
        if not is_async:
            if dep.failed:
                return _text(400, dep.error, headers)
            return Response(b"", 200, headers)
        when = datetime.fromtimestamp(dep.received, UTC).strftime("%Y-%m-%d_%H-%M-%SZ")
        # The 202's Location is https on both OSes; only Linux Kudu's poll answers say http://…:80.
        headers["Location"] = f"https://{site.scm_host_name}/api/deployments/latest?deployer={deployer}&time={when}"
        if dep.behaviour.retry_after is not None:
            headers["Retry-After"] = str(dep.behaviour.retry_after)
        return Response(b"", 202, headers)

    @staticmethod
    def _url(site: Site, path_and_query: str, windows: bool) -> str:
        """Kudu's self links: Linux Kudu sits behind a TLS-terminating front end and says http:80."""
        if windows:
            return f"https://{site.scm_host_name}{path_and_query}"
        return f"http://{site.scm_host_name}:80{path_and_query}"

    # -- status ----------------------------------------------------------------------------------------
    def deployment_json(self, dep: Deployment, status: int | None = None) -> dict[str, Any]:
        book = self.book
        with self.world.lock:
            site = dep.site
            shown = book.kudu_status(dep) if status is None else status
            url = f"https://{site.scm_host_name}/api/deployments/{dep.id}"
            body: dict[str, Any] = {
                "id": dep.id,
                "status": shown,
                "status_text": dep.error if dep.complete and dep.failed else "",
                "author_email": dep.author_email,
                "author": dep.author,
                "deployer": dep.deployer,
                "message": dep.message,
                "progress": "",
                "received_time": iso(dep.received),
                "start_time": iso(dep.received),
                "end_time": iso(dep.end),
                "last_success_end_time": iso(book.last_success_end(dep)),
                "complete": dep.complete,
                "active": book.active(site) is dep,
                "is_temp": False,
                "is_readonly": False,
                "url": url,
                "log_url": f"{url}/log",
                "site_name": site.site_name,
            }
            if dep.windows:
                body["provisioningState"] = (
                    "InProgress" if not dep.complete else "Failed" if dep.failed else "Succeeded"
                )
            else:  # Linux Kudu's records carry it (empty lists as seen; its fill-in is UNVERIFIED)
                body["build_summary"] = {"errors": [], "warnings": []}
            return body

    def temp_json(self, dep: Deployment) -> dict[str, Any]:
        body = self.deployment_json(dep, PENDING)
        url = f"https://{dep.site.scm_host_name}/api/deployments/{dep.temp_id}"
        body.update(
            id=dep.temp_id,
            status_text="",
            end_time=None,
            complete=False,
            active=False,
            is_temp=True,
            url=url,
            log_url=f"{url}/log",
        )
        if dep.windows:
            body["provisioningState"] = "InProgress"
        return body

    def _site(self, request: Request) -> tuple[Site, Response | None]:
        site = host_info(request).target
        assert isinstance(site, Site)
        return site, self.authenticate(request, site)

    async def latest(self, request: Request) -> Response:
        site, refused = self._site(request)
        if refused is not None:
            return refused
        book = self.book
        with self.world.lock:
            deps = book.of_site(site)
            if not deps:
                return _not_found("Deployment 'latest' not found.")
            newest = deps[-1]
            self_url = self._url(
                site, request.url.path + (f"?{request.url.query}" if request.url.query else ""), newest.windows
            )
            retry = (
                {"Retry-After": str(newest.behaviour.retry_after)} if newest.behaviour.retry_after is not None else {}
            )
            if not newest.complete and newest.latest_polls < newest.behaviour.stale_latest:
                newest.latest_polls += 1
                book.poll(newest)
                return json_response(self.temp_json(newest), 202, {"Location": self_url, **retry})
            newest.latest_polls += 1
            running = book.running(site)
            if running is not None:
                book.poll(running)
            running = book.running(site)
            if running is not None:
                forced = None if running.windows else PENDING
                return json_response(self.deployment_json(running, forced), 202, {"Location": self_url, **retry})
            done = max(deps, key=lambda d: (d.end or 0.0, d.received))
            return json_response(self.deployment_json(done))

    async def one(self, request: Request) -> Response:
        site, refused = self._site(request)
        if refused is not None:
            return refused
        dep = self.book.get(site, request.path_params["id"])
        if dep is None:
            return _not_found(f"Deployment '{request.path_params['id']}' not found.")
        self.book.poll(dep)
        return json_response(self.deployment_json(dep))

    async def listing(self, request: Request) -> Response:
        site, refused = self._site(request)
        if refused is not None:
            return refused
        deps = self.book.of_site(site)
        return json_response([self.deployment_json(d) for d in reversed(deps)])

    def _entry_json(self, site: Site, dep: Deployment, entry: LogEntry, parent: str | None = None) -> dict[str, Any]:
        base = f"https://{site.scm_host_name}/api/deployments/{dep.id}/log"
        return {
            "log_time": iso(entry.time),
            "id": entry.id,
            "message": entry.message,
            "type": entry.type,
            "details_url": f"{base}/{entry.id}" if entry.details and parent is None else None,
        }

    async def log(self, request: Request) -> Response:
        site, refused = self._site(request)
        if refused is not None:
            return refused
        dep = self.book.get(site, request.path_params["id"])
        if dep is None:
            return _not_found(f"Deployment '{request.path_params['id']}' not found.")
        self.book.settle(dep)
        entries = self.book.log_visible(dep)
        log_id = request.path_params.get("log_id")
        if log_id is None:
            return json_response([self._entry_json(site, dep, e) for e in entries])
        for e in entries:
            if e.id == log_id:
                return json_response([self._entry_json(site, dep, d, e.id) for d in e.details])
        return _not_found(f"Log entry '{log_id}' not found.")

    async def settings(self, request: Request) -> Response:
        _, refused = self._site(request)
        if refused is not None:
            return refused
        return json_response({})

    async def not_modelled(self, request: Request) -> Response:
        _, refused = self._site(request)
        if refused is not None:
            return refused
        return _text(404, "This Kudu API is not modelled by the emulator.")


def router(world: World) -> Router:
    kudu = Kudu(world, book_of(world), store_of(world))

    async def publish(request: Request) -> Response:
        return await kudu.deploy(request, onedeploy=True)

    async def zipdeploy(request: Request) -> Response:
        return await kudu.deploy(request, onedeploy=False)

    every = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
    return Router(
        routes=[
            Route("/api/publish", publish, methods=["POST", "PUT"]),
            Route("/api/zipdeploy", zipdeploy, methods=["POST", "PUT"]),
            Route("/api/deployments", kudu.listing, methods=["GET"]),
            Route("/api/deployments/latest", kudu.latest, methods=["GET"]),
            Route("/api/deployments/{id}", kudu.one, methods=["GET"]),
            Route("/api/deployments/{id}/log", kudu.log, methods=["GET"]),
            Route("/api/deployments/{id}/log/{log_id}", kudu.log, methods=["GET"]),
            Route("/api/settings", kudu.settings, methods=["GET"]),
            Route("/{path:path}", kudu.not_modelled, methods=every),
        ]
    )
