"""A 401 from ARM gets exactly one token renewal; a second 401 fails (sync and async clients)."""

from __future__ import annotations

import asyncio

import pytest

from airflow_provider_appservice.errors import AzureRequestError
from airflow_provider_appservice.hooks.app_service import AppServiceHook
from airflow_provider_appservice.operations.sites import aget_site, get_site

from .identities import setup_identity

ARM = "https://management.azure.com"


def site_gets(emu, mark):
    return [r.status for r in emu.requests[mark:] if r.method == "GET" and r.path.endswith("/sites/shop")]


@pytest.fixture
def hook(world, monkeypatch, use_conn):
    return AppServiceHook(
        azure_app_service_conn_id=use_conn("appsvc", setup_identity(world, "service_principal_secret", monkeypatch))
    )


def test_a_token_arm_rejects_is_renewed_once(world, hook):
    get_site(hook.get_conn(), world.resource_group, "shop")
    tokens = world.emu.token_requests(audience=ARM)
    mark = len(world.emu.requests)
    world.emu.advance(3700)  # ARM now sees the cached token as expired; this process does not
    info = get_site(hook.get_conn(), world.resource_group, "shop")
    assert info.name == "shop"
    assert site_gets(world.emu, mark) == [401, 200]
    assert world.emu.token_requests(audience=ARM) == tokens + 1


def test_a_second_401_fails_after_one_renewal(world, hook):
    get_site(hook.get_conn(), world.resource_group, "shop")
    tokens = world.emu.token_requests(audience=ARM)
    mark = len(world.emu.requests)
    world.emu.advance(3700)  # ARM rejects the cached token...
    world.emu.token_lifetime = -60  # ...and every renewed one is already expired when it arrives
    with pytest.raises(AzureRequestError) as info:
        get_site(hook.get_conn(), world.resource_group, "shop")
    assert info.value.status == 401 and info.value.code == "ExpiredAuthenticationToken"
    assert site_gets(world.emu, mark) == [401, 401], "one renewal, then the 401 stands"
    assert world.emu.token_requests(audience=ARM) == tokens + 1


def test_the_async_client_renews_too(world, hook):
    async def read() -> str:
        async with hook.shared_arm_client() as client:
            await aget_site(client, world.resource_group, "shop")
            world.emu.advance(3700)
            mark = len(world.emu.requests)
            site = await aget_site(client, world.resource_group, "shop")
            assert site_gets(world.emu, mark) == [401, 200]
            return site.name

    assert asyncio.run(read()) == "shop"
