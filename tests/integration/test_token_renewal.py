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


# -- Kudu (SCM) and app pipelines: the same one renewal ------------------------------------------


def scm_publishes(emu, mark):
    return [r.status for r in emu.requests[mark:] if r.kind == "scm" and r.path == "/api/publish"]


KUDU = "https://appservice.azure.com"  # Kudu's calls carry the App Service audience, not ARM's


def prime_kudu_token(scm):
    """One Kudu read, so the SCM pipeline holds a token the emulator's clock can then age."""
    from azure.core.rest import HttpRequest

    assert scm.send_request(HttpRequest("GET", scm.format_url("/api/deployments"))).status_code == 200
    return scm


def upload_package(hook, world, tmp_path):
    """Upload a zip through the hook's SCM pipeline, as the deploy operator does (a streamed body)."""
    import io
    import zipfile

    from airflow_provider_appservice.operations.deploy import upload
    from airflow_provider_appservice.operations.packages import PackageSpec
    from airflow_provider_appservice.operations.targets import AppTarget
    from airflow_provider_appservice.testing.clock import FakeClock

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("BUILD", "renewed\n")
        zf.writestr("big.bin", bytes(range(256)) * 8192)  # 2 MiB: several chunks of the reader
    package = tmp_path / "site.zip"
    package.write_bytes(buf.getvalue())
    site = get_site(hook.get_conn(), world.resource_group, "shop")
    scm = prime_kudu_token(hook.get_scm_client(str(site.scm_host_name)))
    spec = PackageSpec(type="zip", path=str(package), size=package.stat().st_size)
    target = AppTarget(world.resource_group, "shop", None)
    return package, lambda: upload(scm, target, spec, clean=None, restart=None, deadline=600, clock=FakeClock())


@pytest.fixture
def deployer(world, contributor):
    with AppServiceHook() as hook:
        yield hook


def test_a_kudu_401_renews_the_token_once_and_the_streamed_upload_is_sent_again(world, deployer, tmp_path):
    import hashlib

    package, send = upload_package(deployer, world, tmp_path)  # a Kudu read cached a token
    tokens = world.emu.token_requests(audience=KUDU)
    mark = len(world.emu.requests)
    world.emu.advance(3700)  # Kudu now sees the cached token as expired; this process does not
    result = send()
    assert scm_publishes(world.emu, mark) == [401, 202]
    assert world.emu.token_requests(audience=KUDU) == tokens + 1
    checksum = hashlib.sha256(package.read_bytes()).hexdigest()
    assert result.checksum == checksum, "the package reader was rewound: all of it went again"
    dep = world.emu.deployment(result.deployment_id)
    assert dep is not None and dep.checksum == checksum


def test_a_second_kudu_401_fails_clearly_after_one_renewal(world, deployer, tmp_path):
    _, send = upload_package(deployer, world, tmp_path)
    tokens = world.emu.token_requests(audience=KUDU)
    mark = len(world.emu.requests)
    world.emu.advance(3700)
    world.emu.token_lifetime = -60  # every renewed token is already expired when it arrives
    with pytest.raises(AzureRequestError) as info:
        send()
    assert info.value.status == 401 and "Entra token" in str(info.value)
    assert scm_publishes(world.emu, mark) == [401, 401], "one renewal, then the 401 stands"
    assert world.emu.token_requests(audience=KUDU) == tokens + 1


def test_a_stream_that_cannot_rewind_is_not_sent_again(world, deployer):
    from azure.core.rest import HttpRequest

    site = get_site(deployer.get_conn(), world.resource_group, "shop")
    scm = prime_kudu_token(deployer.get_scm_client(str(site.scm_host_name)))
    tokens = world.emu.token_requests(audience=KUDU)
    mark = len(world.emu.requests)
    world.emu.advance(3700)

    def chunks():
        yield b"PK"  # a generator body is consumed by the first send

    response = scm.send_request(HttpRequest("POST", scm.format_url("/api/publish"), content=chunks()))
    assert response.status_code == 401
    assert scm_publishes(world.emu, mark) == [401], "no renewal, no re-send of a spent stream"
    assert world.emu.token_requests(audience=KUDU) == tokens


@pytest.fixture
def orders(world, monkeypatch, use_conn):
    """The app behind Easy Auth with an echoing POST /api/orders, and a caller allowed to call it."""
    api = world.emu.enable_easy_auth(world.site)
    world.emu.add_app_route(world.site, "POST", "/api/orders", lambda info: (201, {}, {"got": info.json}))
    hook = AppServiceHook(
        azure_app_service_conn_id=use_conn("appsvc", setup_identity(world, "service_principal_secret", monkeypatch))
    )
    site = get_site(hook.get_conn(), world.resource_group, "shop")
    audience = f"api://{api.client_id}"
    with hook:
        yield hook, audience, [site.default_host_name], f"https://{site.default_host_name}"


def order_posts(emu, mark):
    return [r.status for r in emu.requests[mark:] if r.kind == "app" and r.path == "/api/orders"]


def post_order(client, n):
    from azure.core.rest import HttpRequest

    return client.send_request(HttpRequest("POST", client.format_url("/api/orders"), json={"n": n}))


def test_an_app_401_renews_the_app_token_once_and_the_call_succeeds(world, orders):
    hook, audience, hosts, base_url = orders
    client = hook.get_app_client(f"{audience}/.default", hosts, base_url)
    assert post_order(client, 1).status_code == 201
    tokens = world.emu.token_requests(audience=audience)
    mark = len(world.emu.requests)
    world.emu.advance(3700)
    response = post_order(client, 2)
    assert response.status_code == 201 and response.json() == {"got": {"n": 2}}, "the JSON body went again"
    assert order_posts(world.emu, mark) == [401, 201]
    assert world.emu.token_requests(audience=audience) == tokens + 1


def test_a_second_app_401_is_returned_after_one_renewal(world, orders):
    hook, audience, hosts, base_url = orders
    client = hook.get_app_client(f"{audience}/.default", hosts, base_url)
    assert post_order(client, 1).status_code == 201
    tokens = world.emu.token_requests(audience=audience)
    mark = len(world.emu.requests)
    world.emu.advance(3700)
    world.emu.token_lifetime = -60
    response = post_order(client, 2)
    assert response.status_code == 401
    assert order_posts(world.emu, mark) == [401, 401], "one renewal, then the 401 stands"
    assert world.emu.token_requests(audience=audience) == tokens + 1


def test_the_shared_async_app_client_renews_too(world, orders):
    from azure.core.rest import HttpRequest

    hook, audience, hosts, base_url = orders

    async def call() -> list[int]:
        async with hook.shared_app_client(f"{audience}/.default", hosts, base_url) as client:
            request = HttpRequest("POST", client.format_url("/api/orders"), json={"n": 1})
            assert (await client.send_request(request)).status_code == 201
            world.emu.advance(3700)
            mark = len(world.emu.requests)
            response = await client.send_request(HttpRequest("POST", client.format_url("/api/orders"), json={"n": 2}))
            await response.read()
            assert response.json() == {"got": {"n": 2}}
            return order_posts(world.emu, mark)

    assert asyncio.run(call()) == [401, 201]
