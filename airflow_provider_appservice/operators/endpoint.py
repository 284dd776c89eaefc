"""Call a path of an App Service app with a token for the app's own Easy Auth audience."""

from __future__ import annotations

import json as jsonlib
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_appservice.audit import audit
from airflow_provider_appservice.errors import AppServiceError
from airflow_provider_appservice.hooks.app_service import AppServiceHook
from airflow_provider_appservice.operators.base import AppServiceBaseOperator

if TYPE_CHECKING:
    import jinja2
    from airflow.sdk import Context


def _mask_function_keys(path: Any, headers: Any) -> None:
    """Register every form of a function key in ``path`` (``code=``) or ``headers`` with the masker."""
    from airflow.sdk.log import mask_secret

    from airflow_provider_appservice.operations.function_keys import function_key_secrets

    for secret in function_key_secrets(path, headers):
        mask_secret(secret)


class AppServiceEndpointOperator(AppServiceBaseOperator):
    """Call ``path`` on the app (or slot) and check the answer.

    :param app_name: the app (site) name.
    :param resource_group: its resource group; defaults to the connection's ``resource_group``.
    :param slot: a deployment slot; ``None`` or ``"production"`` for the production site.
    :param azure_app_service_conn_id: the ``azure_app_service`` connection to use.
    :param path: the path to call, e.g. ``/api/reindex``.
    :param method: HTTP method (default GET).
    :param audience: the app's Easy Auth audience (``api://<client-id>`` or its Application ID
        URI); ``None`` calls anonymously. ARM, Graph, Key Vault, Storage and token-exchange
        audiences are refused.
    :param json: a JSON body (or ``data``, not both).
    :param data: a raw body (or ``json``, not both).
    :param headers: extra request headers.
    :param expected_status: statuses that count as success (default 200-204).
    :param response_check: ``callable(response) -> bool``; False fails the task. ``response`` is
        an azure-core ``HttpResponse`` (``status_code``, ``headers``, ``json()``, ``text()``).
    :param response_filter: ``callable(response) -> JSON-serialisable`` value for XCom; by
        default XCom gets ``{"status_code": ...}`` only (bodies may hold data you don't want
        in the metadata database).
    :param base_url: call through a front door instead of the app's host; its host must be in
        the connection's ``allowed_hosts``.
    :param idempotency_key: add an ``Idempotency-Key`` header to a POST/PATCH so it may be
        retried after a 5xx.
    :param request_timeout: seconds to wait for one answer.
    :param function_key_secret_name: the name of a Key Vault secret holding the function key,
        in the connection's ``key_vault_url`` vault. Read at run time with the connection's
        identity, masked at once and sent as the ``x-functions-key`` header; it never appears
        in the path, a rendered field, XCom or a log. (A ``code=`` in ``path`` still works and
        is masked from render time on, but its value is stored in the DAG or its params.)
    """

    template_fields: Sequence[str] = (
        *AppServiceBaseOperator.template_fields,
        "path",
        "method",
        "audience",
        "json",
        "data",
        "headers",
        "base_url",
        "function_key_secret_name",
    )
    template_fields_renderers = {"json": "json", "headers": "json"}

    def __init__(
        self,
        *,
        app_name: str,
        resource_group: str | None = None,
        slot: str | None = None,
        azure_app_service_conn_id: str = AppServiceHook.default_conn_name,
        path: str = "/",
        method: str = "GET",
        audience: str | None = None,
        json: Any = None,
        data: Any = None,
        headers: dict[str, str] | None = None,
        expected_status: Sequence[int] = (200, 201, 202, 204),
        response_check: Callable[[Any], bool] | None = None,
        response_filter: Callable[[Any], Any] | None = None,
        base_url: str | None = None,
        idempotency_key: bool = False,
        request_timeout: float = 60.0,
        function_key_secret_name: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            app_name=app_name,
            resource_group=resource_group,
            slot=slot,
            azure_app_service_conn_id=azure_app_service_conn_id,
            **kwargs,
        )
        self.path = path
        self.method = method
        self.audience = audience
        self.json = json
        self.data = data
        self.headers = headers
        self.expected_status = tuple(expected_status) if isinstance(expected_status, (list, tuple)) else expected_status
        self.response_check = response_check
        self.response_filter = response_filter
        self.base_url = base_url
        self.idempotency_key = idempotency_key
        self.request_timeout = request_timeout
        self.function_key_secret_name = function_key_secret_name
        _mask_function_keys(path, headers)

    def render_template_fields(self, context: Context, jinja_env: jinja2.Environment | None = None) -> None:
        """Mask a function key right after rendering: the rendered fields go to the API server next."""
        super().render_template_fields(context, jinja_env)
        _mask_function_keys(self.path, self.headers)

    @property
    def _shown_path(self) -> str:
        """The path as logs, audit lines and errors show it (a ``code=`` value as ``***``)."""
        from airflow_provider_appservice.operations.function_keys import redact_path

        return redact_path(str(self.path))

    def _checked(self) -> tuple[str | None, str]:
        """The audience scope and the path, after every check that needs no I/O (before any request)."""
        from airflow_provider_appservice.errors import TaskArgumentError
        from airflow_provider_appservice.identity.audiences import app_scope
        from airflow_provider_appservice.operations.endpoint import (
            check_app_path,
            check_base_url,
            check_expected_status,
            check_headers,
            check_method,
            check_positive,
        )

        if self.json is not None and self.data is not None:
            raise TaskArgumentError("json", "and 'data' are both set", "pass one body: json= or data=, not both")
        check_method(self.method)
        check_expected_status(self.expected_status)
        scope = app_scope(self.audience) if self.audience else None
        if self.base_url:
            check_base_url(self.base_url)
        check_headers(self.headers)
        check_positive(self.request_timeout, "request_timeout")
        path = check_app_path(self.path)
        if self.function_key_secret_name:
            from airflow_provider_appservice.operations.function_keys import (
                check_secret_name,
                has_function_key,
                vault_url,
            )

            check_secret_name(self.function_key_secret_name)
            vault_url(self.hook.identity)  # the connection names a vault of its cloud, checked before any call
            if has_function_key(path, self.headers):
                raise TaskArgumentError(
                    "function_key_secret_name",
                    "is set and the path or headers carry a function key too",
                    "remove code= from path and x-functions-key from headers",
                )
        return scope, path

    def _headers(self) -> dict[str, str] | None:
        """The caller's headers, plus the function key read from Key Vault (masked the moment it exists)."""
        if not self.function_key_secret_name:
            return self.headers
        from airflow.sdk.log import mask_secret

        from airflow_provider_appservice.operations.function_keys import (
            every_form,
            read_function_key,
            with_function_key,
        )

        key = read_function_key(self.hook.identity, self.hook.get_credential(), self.function_key_secret_name)
        for form in every_form([key]):
            mask_secret(form)
        self.log.info("Function key read from Key Vault secret '%s'", self.function_key_secret_name)
        return with_function_key(self.headers, key)

    def execute(self, context: Context) -> Any:
        from airflow_provider_appservice.operations.endpoint import (
            call_app,
            check_app_audience,
            check_expected_status,
            raise_for_unexpected,
            resolve_endpoint,
        )
        from airflow_provider_appservice.operations.sites import get_site

        scope, path = self._checked()
        identity = self.hook.identity
        target = self.target
        site = get_site(self.hook.get_conn(), target.resource_group, target.app_name, target.slot)
        endpoint = resolve_endpoint(site, identity, self.base_url)
        check_app_audience(self.hook.get_conn(), target, identity, scope)
        client = self.hook.get_app_client(scope, endpoint.hosts, endpoint.base_url)
        with self.hook:  # closes the app and ARM clients when the call is done
            result = call_app(
                client,
                self.method,
                path,
                json=self.json,
                data=self.data,
                headers=self._headers(),
                idempotency_key=self.idempotency_key,
                timeout=self.request_timeout,
                backoff=self.backoff(deadline=max(self.request_timeout * 4, 120)),
                max_attempts=identity.retry_max_attempts,
                clock=self.hook.clock,
                logger=self.log,
            )
            what = f"{self.method.upper()} {self._shown_path} on '{target.label}'"
            self.log.info(
                "%s -> HTTP %s in %.0f ms (%d attempt(s))",
                what,
                result.response.status_code,
                result.elapsed * 1000,
                result.attempts,
            )
            raise_for_unexpected(result, check_expected_status(self.expected_status), what)
            return self._answer(context, result, what, scope, site.resource_id)

    def _answer(self, context: Context, result: Any, what: str, scope: str | None, resource_id: str) -> Any:
        """Check the answer, write the audit line and the portal link, return what goes to XCom."""
        response = result.response
        if self.response_check is not None and not self.response_check(response):
            raise AppServiceError(f"{what}: response_check returned False (HTTP {response.status_code})")
        audit(
            self.log,
            self.hook.identity,
            f"call {self.method.upper()} {self._shown_path}",
            resource_id,
            outcome=f"HTTP {response.status_code}",
            audience=scope[: -len("/.default")] if scope else "anonymous",
            attempts=result.attempts,
        )
        self.push_portal_link(context, resource_id)
        if self.response_filter is not None:
            value = self.response_filter(response)
            jsonlib.dumps(value)  # fail here, clearly, rather than in XCom serialisation
            return value
        return {"status_code": response.status_code}
