"""What comes back from the database is untrusted: a trigger's kwargs never decide where a token goes.

A deployment trigger carries the SCM host the worker read; a row rewritten in the database (or a
forged kwarg) must not send the ARM token anywhere else: the trigger re-reads the host from ARM,
refuses a mismatch with TokenPinningError, and no request reaches the forged host.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from airflow_provider_appservice.errors import TokenPinningError, from_event
from airflow_provider_appservice.triggers.deployment import AppServiceDeploymentTrigger

from .test_client_lifetimes import deploy_without_waiting


def run_once(trigger: AppServiceDeploymentTrigger) -> dict[str, Any]:
    async def scenario() -> dict[str, Any]:
        events = trigger.run()
        try:
            return (await events.__anext__()).payload
        finally:
            await events.aclose()

    return asyncio.run(scenario())


@pytest.mark.parametrize(
    "forged", ["other.scm.azurewebsites.net", "management.azure.com", "shop.scm.azurewebsites.net.evil.com"]
)
def test_a_forged_scm_host_in_trigger_kwargs_gets_no_token(world, contributor, tmp_path, forged):
    other = world.emu.add_site(world.subscription_id, world.resource_group, "other")
    world.emu.deployment_behaviour(world.site, polls=1)
    deployment_id = deploy_without_waiting(world, tmp_path)
    mark = len(world.emu.requests)
    trigger = AppServiceDeploymentTrigger(
        azure_app_service_conn_id="azure_app_service_default",
        resource_group=world.resource_group,
        app_name="shop",
        deployment_id=deployment_id,
        deadline=time.time() + 60,
        poll_interval=0.01,
        scm_host=forged,
    )
    event = run_once(trigger)
    assert event["status"] == "error" and event["error"] == "TokenPinningError", event
    error = from_event(event)
    assert isinstance(error, TokenPinningError) and "no token was sent" in str(error)
    sent = world.emu.requests[mark:]
    assert {r.host for r in sent} <= {"login.microsoftonline.com", "management.azure.com"}, [
        (r.host, r.path) for r in sent
    ]
    assert not any(r.host in (forged, other.scm_host_name) and r.path.startswith("/api/") for r in sent), "no Kudu call"


def test_the_real_scm_host_in_trigger_kwargs_still_works(world, contributor, tmp_path):
    world.emu.deployment_behaviour(world.site, polls=1)
    deployment_id = deploy_without_waiting(world, tmp_path)
    trigger = AppServiceDeploymentTrigger(
        azure_app_service_conn_id="azure_app_service_default",
        resource_group=world.resource_group,
        app_name="shop",
        deployment_id=deployment_id,
        deadline=time.time() + 60,
        poll_interval=0.01,
        scm_host=world.site.scm_host_name.upper(),
    )
    assert run_once(trigger)["status"] == "success"


def test_a_rewritten_state_record_sends_no_token_to_another_host(world, contributor, tmp_path):
    """A stored deployment record whose scm_host was rewritten (Airflow's state-store API) is refused:
    the host is re-read from ARM, the mismatch fails with TokenPinningError, nothing reaches the host."""
    from airflow_provider_appservice.errors import TokenPinningError
    from airflow_provider_appservice.operators.deploy import AppServiceDeployOperator

    other = world.emu.add_site(world.subscription_id, world.resource_group, "other")
    world.emu.deployment_behaviour(world.site, polls=1)
    deployment_id = deploy_without_waiting(world, tmp_path)
    op = AppServiceDeployOperator(task_id="deploy", app_name="shop", package=str(tmp_path))
    mark = len(world.emu.requests)
    record = {"deployment_id": deployment_id, "scm_host": other.scm_host_name}
    with pytest.raises(TokenPinningError, match="no token was sent"):
        op.get_job_status(record, {})
    assert not any(r.host == other.scm_host_name for r in world.emu.requests[mark:])


@pytest.mark.parametrize("stored", ["../../api/settings", "x/../y", "a b", "%2E%2E"])
def test_a_rewritten_deployment_id_is_refused_before_any_call(world, contributor, tmp_path, stored):
    from airflow_provider_appservice.errors import TaskArgumentError
    from airflow_provider_appservice.operators.deploy import AppServiceDeployOperator

    op = AppServiceDeployOperator(task_id="deploy", app_name="shop", package=str(tmp_path))
    mark = len(world.emu.requests)
    with pytest.raises(TaskArgumentError, match="deployment_id"):
        op.get_job_status({"deployment_id": stored, "scm_host": world.site.scm_host_name}, {})
    assert world.emu.requests[mark:] == []
