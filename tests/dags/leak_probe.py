"""A DAG that tries hard to leak: it logs a token and raises an error holding it.

The leak test runs it against the emulator with opaque tokens (Airflow already rewrites
JWT-shaped strings, so only opaque ones prove masking) and scans everything it printed.
"""

from __future__ import annotations

import logging
from typing import Any

from airflow.sdk import dag, task


@dag(schedule=None, params={"app_name": "shop", "canary": ""})
def leak_probe() -> None:
    @task
    def read_and_log(params: dict[str, Any] | None = None) -> str:
        from airflow_provider_appservice.hooks.app_service import AppServiceHook
        from airflow_provider_appservice.operations.sites import get_site

        params = params or {}
        log = logging.getLogger("airflow.task")
        hook = AppServiceHook()
        token = hook.get_arm_token()
        site = get_site(hook.get_conn(), str(hook.identity.resource_group), params["app_name"])
        log.info("positive control: %s", params["canary"])  # not a secret: the scan must find it
        log.info("probe token %s for %s", token, site.name)  # a secret: the scan must not
        return site.name

    @task
    def fail_with_token() -> None:
        from airflow_provider_appservice.hooks.app_service import AppServiceHook

        token = AppServiceHook().get_arm_token()
        raise RuntimeError(f"deliberate failure carrying {token}")

    read_and_log() >> fail_with_token()


leak_probe()
