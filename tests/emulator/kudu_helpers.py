"""Talking to the emulated Kudu the way the provider does: azure-core with an ARM bearer token."""

from __future__ import annotations

import io
import zipfile
from typing import Any

from azure.core import PipelineClient
from azure.core.pipeline.policies import BearerTokenCredentialPolicy, RetryPolicy
from azure.core.rest import HttpRequest, HttpResponse

from .scenarios import Scenario

ARM_SCOPE = "https://management.azure.com/.default"


def zip_package(build: str | None = None, files: dict[str, bytes] | None = None) -> bytes:
    """A small zip, byte-identical for the same arguments (fixed timestamps: a plain
    ``writestr`` stamps the current time, so two calls across a 2 s boundary differ)."""
    buf = io.BytesIO()

    def add(zf: zipfile.ZipFile, name: str, data: bytes | str) -> None:
        zf.writestr(zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0)), data)

    with zipfile.ZipFile(buf, "w") as zf:
        add(zf, "app.py", b"print('hello')\n")
        for name, data in (files or {}).items():
            add(zf, name, data)
        if build is not None:
            add(zf, "BUILD", build + "\n")
    return buf.getvalue()


class Scm:
    """An SCM client for one site or slot (absolute URLs work too)."""

    def __init__(self, sc: Scenario, host: str, scope: str = ARM_SCOPE, credential: Any = None) -> None:
        self.host = host
        policies = [BearerTokenCredentialPolicy(credential or sc.credential(), scope), RetryPolicy(retry_total=0)]
        self.client: PipelineClient = PipelineClient(
            base_url=f"https://{host}", policies=policies, connection_verify=sc.emu.ca_path
        )

    def send(self, method: str, url: str, **kwargs: Any) -> HttpResponse:
        if url.startswith("/"):
            url = f"https://{self.host}{url}"
        response = self.client.send_request(HttpRequest(method, url, **kwargs))
        response.read()
        return response

    def get(self, url: str, **kwargs: Any) -> HttpResponse:
        return self.send("GET", url, **kwargs)

    def publish(self, data: Any, **params: Any) -> HttpResponse:
        params.setdefault("type", "zip")
        params.setdefault("async", "true")
        return self.send(
            "POST",
            "/api/publish",
            params=params,
            content=data,
            headers={"Content-Type": "application/octet-stream"},
        )

    def status(self, deployment_id: str) -> dict[str, Any]:
        response = self.get(f"/api/deployments/{deployment_id}")
        assert response.status_code == 200, response.text()
        return response.json()

    def poll_until_complete(self, deployment_id: str, limit: int = 20) -> list[int]:
        seen = []
        for _ in range(limit):
            body = self.status(deployment_id)
            seen.append(body["status"])
            if body["complete"]:
                return seen
        raise AssertionError(f"not complete after {limit} polls: {seen}")
