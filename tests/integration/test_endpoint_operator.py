"""AppServiceEndpointOperator through dag.test() of real DAGs against the emulator's apps: app
audiences behind Easy Auth, refused audiences and hosts, redirects not followed, retries and
idempotency keys, response checks and filters. Retry waits run on a FakeClock (no sleeping)."""

from __future__ import annotations

import uuid

import pytest

from airflow_provider_appservice.clock import use_clock
from airflow_provider_appservice.operators.endpoint import AppServiceEndpointOperator
from airflow_provider_appservice.testing.clock import FakeClock

from ..dags.endpoint_calls import PARAMS, REFUSED
from ..support import REPO, load_dag, migrate_db, spy_errors, task_states, xcom_value

DAG_FILE = REPO / "tests" / "dags" / "endpoint_calls.py"


@pytest.fixture(scope="module")
def dags():
    migrate_db()
    return {name: load_dag(DAG_FILE, name) for name in ("endpoint_call", "endpoint_post", "endpoint_checks")} | {
        "endpoint_refusals": load_dag(DAG_FILE, "endpoint_refusals")
    }


def run_dag(dag, conf):
    """dag.test() with every param given: dag.test keeps a run's conf in the DAG's params."""
    return dag.test(run_conf={**PARAMS, **conf})


@pytest.fixture
def clock(monkeypatch):
    with use_clock(FakeClock()) as c:
        yield c


@pytest.fixture
def caller(world, use_conn):
    """A service principal that may read the app (ARM) and call it (Easy Auth)."""
    sp = world.emu.add_service_principal(world.tenant)
    world.emu.assign_role(sp, "Reader", f"/subscriptions/{world.subscription_id}")

    def connect(**extra):
        fields = world.conn("service_principal_secret", login=sp.client_id, password=sp.secret, **extra)
        use_conn("azure_app_service_default", fields)

    connect()
    sp.connect = connect
    return sp


@pytest.fixture
def api(world, caller):
    return world.emu.enable_easy_auth(world.site)


def app_requests(emu, host: str | None = None) -> list:
    return [r for r in emu.requests if r.kind == "app" and (host is None or r.host == host)]


@pytest.fixture
def errors(monkeypatch):
    """What each task raised, by task id (a spy around execute; the task still fails)."""
    return spy_errors(monkeypatch, AppServiceEndpointOperator)


def test_app_audience_token_reaches_only_the_app_host(world, caller, api, dags, clock):
    seen = []
    world.emu.add_app_route(world.site, "GET", "/api/orders", lambda r: (seen.append(r) or 200, {}, {"orders": []}))
    audience = f"api://{api.client_id}"
    run = run_dag(dags["endpoint_call"], {"audience": audience, "path": "/api/orders"})
    assert task_states(run) == {"call": "success"}
    assert xcom_value(run, "call") == {"status_code": 200}, "XCom carries the status code only by default"
    (info,) = seen
    assert info.caller["appid"] == caller.client_id and info.caller["aud"] == audience
    with_app_token = [r for r in world.emu.requests if r.audience == audience]
    assert [(r.host, r.path) for r in with_app_token] == [(world.site.default_host_name, "/api/orders")]
    assert world.emu.token_requests(audience=audience) == 1
    assert not clock.sleeps


@pytest.mark.usefixtures("api")
def test_powerful_audiences_and_plain_http_are_refused_before_any_request(world, caller, dags, errors):
    mark = len(world.emu.requests)
    run = run_dag(dags["endpoint_refusals"], {"base_url": world.site.default_host_name})
    states = task_states(run)
    assert states == {**{f"audience_{n}": "failed" for n in REFUSED}, "plain_http": "failed"}
    assert world.emu.requests[mark:] == [], "nothing was sent anywhere, not even a token request"
    assert set(errors) == set(states)
    assert all(e.startswith("TaskArgumentError") for e in errors.values())
    assert "app code must never receive such a token" in errors["audience_graph"]
    assert "token-exchange audience" in errors["audience_token_exchange"]
    assert "must be an https URL" in errors["plain_http"]


def test_base_url_host_must_be_in_allowed_hosts(world, caller, api, dags, errors):
    host = world.emu.add_custom_domain(world.site, "api.contoso.com")
    audience = f"api://{api.client_id}"
    conf = {"audience": audience, "base_url": "https://api.contoso.com"}
    run = run_dag(dags["endpoint_call"], conf)
    assert task_states(run) == {"call": "failed"}
    assert "neither one of the app's host names nor in the connection's allowed_hosts" in errors["call"]
    assert not app_requests(world.emu), "no request reached any app host"
    assert world.emu.token_requests(audience=audience) == 0, "no app token was even requested"
    assert {r.kind for r in world.emu.requests} <= {"token", "discovery", "arm"}

    caller.connect(allowed_hosts=host)
    run = run_dag(dags["endpoint_call"], conf)
    assert task_states(run) == {"call": "success"}
    assert [r.host for r in world.emu.requests if r.audience == audience] == [host]


def test_a_redirect_elsewhere_is_not_followed_and_the_token_stays(world, caller, api, dags, errors):
    elsewhere = world.emu.add_site(world.subscription_id, world.resource_group, "collector")
    target = f"https://{elsewhere.default_host_name}/steal"
    world.emu.add_app_route(world.site, "GET", "/moved", lambda r: (302, {"Location": target}, ""))
    run = run_dag(dags["endpoint_call"], {"audience": f"api://{api.client_id}", "path": "/moved"})
    assert task_states(run) == {"call": "failed"}
    assert f"redirect to {elsewhere.default_host_name} (not followed)" in errors["call"]
    assert not [r for r in world.emu.requests if r.host == elsewhere.default_host_name]
    (moved,) = app_requests(world.emu)
    assert moved.status == 302 and moved.bearer and moved.host == world.site.default_host_name


def test_anonymous_call_to_a_protected_app_fails_clearly(world, caller, api, dags, errors):
    run = run_dag(dags["endpoint_call"], {"path": "/api/orders"})
    assert task_states(run) == {"call": "failed"}
    assert "HTTP 401" in errors["call"]
    assert "Without `audience` the call carries no token" in errors["call"] and "api://<client-id>" in errors["call"]
    (only,) = app_requests(world.emu)
    assert not only.bearer and only.status == 401, "a 401 is not retried"


def test_throttled_call_is_resent_after_retry_after(world, caller, api, dags, clock):
    world.emu.add_app_route(world.site, "GET", "/api/orders", lambda r: (200, {}, {"orders": []}))
    world.emu.fault(status=429, host=world.site.default_host_name, path=r"^/api/orders$", times=2, retry_after=3)
    run = run_dag(dags["endpoint_call"], {"audience": f"api://{api.client_id}", "path": "/api/orders"})
    assert task_states(run) == {"call": "success"}
    assert [r.status for r in app_requests(world.emu)] == [429, 429, 200]
    assert len(clock.sleeps) == 2 and min(clock.sleeps) >= 3, "Retry-After is a minimum wait"


def test_a_post_that_broke_is_resent_only_with_an_idempotency_key(world, caller, api, dags, clock, errors):
    keys: dict[str, list[str | None]] = {"/api/plain": [], "/api/keyed": []}

    def record(info):
        keys[info.path].append(info.headers.get("idempotency-key"))
        assert info.json == {"order": "shop-42"}
        return 201, {}, {"id": 42}

    for path in keys:
        world.emu.add_app_route(world.site, "POST", path, record)
        # The app acts on the POST, then the answer is lost in a 502: an ambiguous failure.
        world.emu.fault(status=502, method="POST", path=f"^{path}$", times=1, apply_then_fail=True)
    run = run_dag(dags["endpoint_post"], {"audience": f"api://{api.client_id}"})
    assert task_states(run) == {"post_plain": "failed", "post_keyed": "success"}
    plain = [r.status for r in app_requests(world.emu) if r.path == "/api/plain"]
    keyed = [r.status for r in app_requests(world.emu) if r.path == "/api/keyed"]
    assert plain == [502] and keyed == [502, 201]
    assert keys["/api/plain"] == [None]
    first, second = keys["/api/keyed"]
    assert first == second and uuid.UUID(first), "the same key on every attempt"
    assert set(errors) == {"post_plain"} and "HTTP 502" in errors["post_plain"]
    assert errors["post_plain"].startswith("AmbiguousOutcomeError"), "no Airflow retry re-sends it either"


def test_response_check_and_filter(world, caller, api, dags, errors):
    order = {"id": 7, "state": "packed", "customer": "someone@example.com"}
    world.emu.add_app_route(world.site, "GET", "/api/orders/7", lambda r: (200, {}, order))
    run = run_dag(dags["endpoint_checks"], {"audience": f"api://{api.client_id}"})
    assert task_states(run) == {"default_xcom": "success", "filtered": "success", "checked": "failed"}
    assert xcom_value(run, "default_xcom") == {"status_code": 200}
    assert xcom_value(run, "filtered") == {"id": 7, "state": "packed"}
    assert xcom_value(run, "checked") is None
    assert set(errors) == {"checked"} and "response_check returned False (HTTP 200)" in errors["checked"]
