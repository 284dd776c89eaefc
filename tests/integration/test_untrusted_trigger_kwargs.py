"""Trigger kwargs come back from Airflow's database: untrusted (issue 11, items 2 and 9).

The health and container triggers re-derive the hosts an app token may reach from ARM (plus the
connection's allowed_hosts) and refuse kwargs that name anything else with TokenPinningError
before any token exists; a path that names a host and a powerful audience are refused too; and
every trigger refuses a missing or absurd deadline when it is built from its kwargs.
"""

from __future__ import annotations

import asyncio
import re
import time

import pytest

from airflow_provider_appservice.errors import TaskArgumentError
from airflow_provider_appservice.triggers.container import AppServiceContainerReadyTrigger
from airflow_provider_appservice.triggers.health import AppServiceHealthTrigger
from airflow_provider_appservice.triggers.settings import AppServiceKeyVaultReferencesTrigger
from airflow_provider_appservice.triggers.state import AppServiceStateTrigger
from airflow_provider_appservice.triggers.swap import AppServiceSwapPreviewTrigger, AppServiceSwapTrigger

CONN = "azure_app_service_default"


@pytest.fixture
def reader(world, use_conn):
    def connect(**extra):
        sp = world.emu.add_service_principal(world.tenant)
        world.emu.assign_role(sp, "Reader", f"/subscriptions/{world.subscription_id}")
        fields = world.conn("service_principal_secret", login=sp.client_id, password=sp.secret, **extra)
        use_conn(CONN, fields)

    connect()
    return connect


def first_event(trigger) -> dict:
    async def scenario() -> dict:
        gen = trigger.run()
        try:
            return (await gen.__anext__()).payload
        finally:
            await gen.aclose()

    return asyncio.run(scenario())


def health(world, **overrides) -> AppServiceHealthTrigger:
    host = world.site.default_host_name
    kwargs = {
        "azure_app_service_conn_id": CONN,
        "resource_group": world.resource_group,
        "app_name": "shop",
        "poll_interval": 0,
        "path": "/healthz",
        "scope": None,
        "hosts": [host],
        "base_url": f"https://{host}",
        "required_consecutive": 1,
        "check": {"expected_status": [200]},
        "request_timeout": 10,
        "deadline": time.time() + 600,
    }
    return AppServiceHealthTrigger(**{**kwargs, **overrides})


def container(world, **overrides) -> AppServiceContainerReadyTrigger:
    host = world.site.default_host_name
    kwargs = {
        "azure_app_service_conn_id": CONN,
        "resource_group": world.resource_group,
        "app_name": "shop",
        "poll_interval": 0,
        "image": "myacr.azurecr.io/shop:2",
        "path": "/healthz",
        "scope": None,
        "hosts": [host],
        "base_url": f"https://{host}",
        "required_consecutive": 1,
        "deadline": time.time() + 600,
        "timeout": 600,
    }
    return AppServiceContainerReadyTrigger(**{**kwargs, **overrides})


def test_rewritten_hosts_send_no_token_anywhere(world, reader):
    emu = world.emu
    api = emu.enable_easy_auth(world.site, excluded_paths=())
    other = emu.add_site(world.subscription_id, world.resource_group, "billing")
    scope = f"api://{api.client_id}/.default"
    stranger = other.default_host_name
    cases = {
        "hosts": health(world, scope=scope, hosts=[stranger]),
        "base_url": health(world, scope=scope, base_url=f"https://{stranger}"),
        "both": health(world, scope=scope, hosts=[stranger], base_url=f"https://{stranger}"),
        "http base_url": health(world, scope=scope, base_url=f"http://{world.site.default_host_name}"),
        "container hosts": container(world, scope=scope, hosts=[stranger], base_url=f"https://{stranger}"),
    }
    events = {name: first_event(trigger) for name, trigger in cases.items()}
    for name, event in events.items():
        assert event["status"] == "error" and event["error"] == "TokenPinningError", (name, event)
        assert "allowed_hosts" in event["message"] and "nothing was sent" in event["message"], name
    assert stranger in events["hosts"]["message"]
    assert emu.token_requests(audience=f"api://{api.client_id}") == 0, "no app token was even asked for"
    assert not [r for r in emu.requests if r.kind == "app"], "no request reached any app"


def test_a_path_naming_a_host_and_a_powerful_scope_are_refused_before_any_request(world, reader):
    emu = world.emu
    events = {
        "path": first_event(health(world, path="https://evil.example/healthz")),
        "container path": first_event(container(world, path="//evil.example/x")),
        "arm scope": first_event(health(world, scope="https://management.azure.com/.default")),
    }
    for name, event in events.items():
        assert event["status"] == "error" and event["error"] == "TaskArgumentError", (name, event)
    assert "'path'" in events["path"]["message"] and "'audience'" in events["arm scope"]["message"]
    assert not [r for r in emu.requests if r.kind in ("app", "arm")], "refused before ARM and the app"


def test_untouched_kwargs_and_an_allowed_custom_domain_still_probe(world, reader):
    """Positive control: the same check passes what ARM reports and what the connection allows."""
    emu = world.emu
    domain = emu.add_custom_domain(world.site, "shop.contoso.example")
    reader(allowed_hosts=domain)
    assert first_event(health(world))["status"] == "success"
    event = first_event(container(world, hosts=[world.site.default_host_name, domain], base_url=f"https://{domain}"))
    assert event["status"] == "success", event
    assert {r.host for r in emu.requests if r.kind == "app"} == {world.site.default_host_name, domain}


BASE = {"azure_app_service_conn_id": CONN, "resource_group": "rg-shop", "app_name": "shop"}
TRIGGERS = {
    "health": lambda d: AppServiceHealthTrigger(
        **BASE,
        path="/healthz",
        scope=None,
        hosts=["shop.azurewebsites.net"],
        base_url="https://shop.azurewebsites.net",
        required_consecutive=1,
        check={},
        request_timeout=5,
        deadline=d,
    ),
    "container": lambda d: AppServiceContainerReadyTrigger(
        **BASE,
        image="a/b:1",
        path="/",
        scope=None,
        hosts=["shop.azurewebsites.net"],
        base_url="https://shop.azurewebsites.net",
        required_consecutive=1,
        deadline=d,
        timeout=5,
    ),
    "state": lambda d: AppServiceStateTrigger(**BASE, target_state="Running", deadline=d),
    "settings": lambda d: AppServiceKeyVaultReferencesTrigger(
        **BASE, watch={"appsettings": None}, deadline=d, timeout=5
    ),
    "swap": lambda d: AppServiceSwapTrigger(**BASE, slot="staging", target_slot=None, deadline=d),
    "preview": lambda d: AppServiceSwapPreviewTrigger(**BASE, slot="staging", target_slot=None, deadline=d, timeout=5),
}


@pytest.mark.parametrize("kind", sorted(TRIGGERS))
def test_every_trigger_refuses_a_missing_or_absurd_deadline(kind):
    for bad in (None, "1700000000", float("nan"), float("inf"), True, -5, 0):
        with pytest.raises(TaskArgumentError, match="'deadline'"):
            TRIGGERS[kind](bad)
    assert TRIGGERS[kind](1_900_000_000.0).serialize()[1]["deadline"] == 1_900_000_000.0


@pytest.mark.parametrize(
    "overrides, argument",
    [
        ({"required_consecutive": 0}, "required_consecutive"),
        ({"required_consecutive": "3"}, "required_consecutive"),
        ({"check": {"expected_status": [200], "exec": "x"}}, "check"),
        ({"check": {"regex": "("}}, "check"),
        ({"check": {"expected_status": [302]}}, "check['expected_status']"),
        ({"check": "status"}, "check"),
    ],
)
def test_a_rewritten_gate_is_refused_when_read_back(world, overrides, argument):
    """A streak of 0 would pass on a 503; a broken check would fail later with a raw error."""
    with pytest.raises(TaskArgumentError, match=f"Argument '{re.escape(argument)}'"):
        health(world, **overrides)
    if "required_consecutive" in overrides:
        with pytest.raises(TaskArgumentError, match="Argument 'required_consecutive'"):
            container(world, **overrides)
