"""The bad-input corpus (tests/dags/bad_input_corpus.py) in one DAG run: every case fails before
any network request — the emulator's journal holds nothing for its app or connection — with a
message that names the argument or connection field and the fix; none is accepted."""

from __future__ import annotations

import importlib.util
import io
import json
import re
import zipfile
from typing import Any

import pytest

from ..support import REPO, load_dag, migrate_db, task_states
from ..unit.certificates import key_only, unreadable_key

DAG_FILE = REPO / "tests" / "dags" / "bad_input_corpus.py"
#: Cases that may only fail after Azure answers, and why: they may read from ARM first (never
#: write, never send a token anywhere else), then must fail naming the field.
LATE = {
    "endpoint_base_url_unlisted": "a base URL on one of the app's own host names is allowed, and those come from ARM",
}


def corpus_module() -> Any:
    spec = importlib.util.spec_from_file_location("bad_input_corpus_cases", DAG_FILE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def connection_cases(world, sp) -> dict[str, Any]:
    """Each connection case's body: a good service-principal connection with one thing wrong."""
    tenant, sub = world.tenant.tenant_id, world.subscription_id
    good = {"auth_type": "service_principal_secret", "tenant_id": tenant, "subscription_id": sub}
    good |= {"resource_group": "rg-shop", "ca_bundle": world.emu.ca_path}
    kv = {"auth_type": "key_vault_service_principal", "key_vault_secret_name": "sp-secret"}
    kv_url = "https://kv-corpus.vault.azure.net/"

    def sp_conn(extra: Any = None, login: Any = sp.client_id, password: Any = sp.secret, **changes: Any) -> dict:
        body = dict(good, **changes) if extra is None else extra
        return {"conn_type": "azure_app_service", "login": login, "password": password, "extra": body}

    without = lambda *keys: {k: v for k, v in good.items() if k not in keys}  # noqa: E731
    return {
        "auth_type_missing": sp_conn(without("auth_type")),
        "auth_type_unknown": sp_conn(auth_type="magic"),
        "tenant_not_guid": sp_conn(tenant_id="contoso"),
        "tenant_common": sp_conn(tenant_id="common"),
        "subscription_dotdot": sp_conn(subscription_id=".."),
        "subscription_not_guid": sp_conn(subscription_id="my-subscription"),
        "resource_group_slash": sp_conn(resource_group="rg/../other"),
        "resource_group_too_long": sp_conn(resource_group="r" * 91),
        "cloud_unknown": sp_conn(cloud="mars"),
        "ca_bundle_missing": sp_conn(ca_bundle="/nonexistent/ca.pem"),
        "allowed_hosts_wildcard": sp_conn(allowed_hosts="*.contoso.com"),
        "allowed_hosts_scheme": sp_conn(allowed_hosts="https://api.contoso.com"),
        "allowed_hosts_port": sp_conn(allowed_hosts="api.contoso.com:8443"),
        "retry_attempts_fraction": sp_conn(retry_max_attempts=2.9),
        "retry_attempts_bool": sp_conn(retry_max_attempts=True),
        "retry_attempts_zero": sp_conn(retry_max_attempts=0),
        "retry_attempts_huge": sp_conn(retry_max_attempts=10_000),
        "retry_delay_negative": sp_conn(retry_max_delay_seconds=-1),
        "retry_delay_text": sp_conn(retry_max_delay_seconds="a while"),
        "extra_typo": sp_conn(resouce_group="rg-shop"),
        "extra_not_json": sp_conn("{not json"),
        "extra_a_list": sp_conn(["auth_type", "service_principal_secret"]),
        "sp_secret_no_login": sp_conn(login=None),
        "sp_secret_no_password": sp_conn(password=None),
        "sp_secret_login_not_guid": sp_conn(login="my-app"),
        "sp_cert_garbage_pem": sp_conn(
            password=None, auth_type="service_principal_certificate", client_certificate_private_key=unreadable_key()
        ),
        "sp_cert_key_without_cert": sp_conn(
            password=None,
            auth_type="service_principal_certificate",
            client_certificate_private_key=key_only(),
        ),
        "sp_cert_missing": sp_conn(password=None, auth_type="service_principal_certificate"),
        "sp_cert_no_tenant": sp_conn(
            dict(
                without("tenant_id"),
                auth_type="service_principal_certificate",
                client_certificate_private_key=unreadable_key(),
            ),
            password=None,
        ),
        "kv_url_http": sp_conn(password=None, **kv, key_vault_url="http://kv-corpus.vault.azure.net/"),
        "kv_url_userinfo": sp_conn(password=None, **kv, key_vault_url="https://u:p@kv-corpus.vault.azure.net/"),
        "kv_url_port": sp_conn(password=None, **kv, key_vault_url="https://kv-corpus.vault.azure.net:8443/"),
        "kv_url_path": sp_conn(password=None, **kv, key_vault_url="https://kv-corpus.vault.azure.net/secrets/x"),
        "kv_url_wrong_suffix": sp_conn(password=None, **kv, key_vault_url="https://kv-corpus.example.com/"),
        "kv_url_other_cloud": sp_conn(password=None, **kv, key_vault_url="https://kv-corpus.vault.azure.cn/"),
        "kv_no_secret_name": sp_conn(password=None, auth_type="key_vault_service_principal", key_vault_url=kv_url),
        "kv_secret_name_slash": sp_conn(
            password=None, auth_type="key_vault_service_principal", key_vault_url=kv_url, key_vault_secret_name="a/b"
        ),
        "kv_no_url": sp_conn(password=None, **kv),
        "mi_client_id_not_guid": sp_conn(
            dict(without("tenant_id"), auth_type="managed_identity", managed_identity_client_id="my-identity"),
            login=None,
            password=None,
        ),
        "mi_with_password": sp_conn(dict(without("tenant_id"), auth_type="managed_identity"), login=None),
        "workload_no_token_file": sp_conn(auth_type="workload_identity", password=None),
        "federated_no_login": sp_conn(auth_type="managed_identity_federated", login=None, password=None),
        "allowed_audiences_arm": sp_conn(allowed_audiences="https://management.azure.com"),
        "allowed_audiences_graph_id": sp_conn(allowed_audiences="00000003-0000-0000-c000-000000000000"),
        "allowed_audiences_kudu": sp_conn(allowed_audiences="https://appservice.azure.com"),
        "allowed_audiences_not_uri": sp_conn(allowed_audiences="orders api"),
        "default_with_secret": sp_conn(auth_type="default"),
        "subscription_missing_for_rg": sp_conn(without("subscription_id")),
        "cloud_china_public_vault": sp_conn(password=None, **kv, key_vault_url=kv_url, cloud="china"),
        "tenant_dotdot": sp_conn(tenant_id=".."),
    }


def names_field(message: str, field: str) -> bool:
    """``field`` may list the names a message may use for it (the form's label for ``login``)."""
    return any(f"'{name}'" in message or f"'{name}[" in message for name in field.split("|"))


@pytest.fixture
def corpus_files(tmp_path, monkeypatch):
    root = tmp_path / "packages"
    (root / "empty").mkdir(parents=True)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("BUILD", "corpus\n")
    (root / "app.zip").write_bytes(buf.getvalue())
    (root / "notes.txt").write_text("not a zip\n")
    out = tmp_path / "out"
    out.mkdir()
    values = {
        "CORPUS_OUT": out,
        "CORPUS_PACKAGE": root / "app.zip",
        "CORPUS_TEXT": root / "notes.txt",
        "CORPUS_EMPTY_DIR": root / "empty",
        "CORPUS_ROOT": root,
    }
    for key, value in values.items():
        monkeypatch.setenv(key, str(value))
    return out


def test_every_bad_input_fails_before_any_request_naming_the_field(world, contributor, use_conn, corpus_files):
    cases = corpus_module()
    bodies = connection_cases(world, contributor)
    assert set(bodies) == {case for case, _ in cases.CONNECTION_CASES}
    for case, body in bodies.items():
        use_conn(f"corpus_{case}", body)
    assert len(cases.OPERATOR_CASES) + len(cases.CONNECTION_CASES) >= 120

    for case, _, kwargs, _ in cases.OPERATOR_CASES:
        if case in LATE:  # a late case meets a real app, so only its own check can fail it
            world.emu.add_site(world.subscription_id, "rg-shop", kwargs["app_name"])
    migrate_db()
    dag = load_dag(DAG_FILE, "bad_input_corpus")
    before = len(world.emu.requests)
    run = dag.test()
    states = task_states(run)
    refused = json.loads((corpus_files / "construction.json").read_text())
    failures = {}
    for line in (
        (corpus_files / "failures.jsonl").read_text().splitlines() if (corpus_files / "failures.jsonl").exists() else []
    ):
        entry = json.loads(line)
        failures[entry["task"]] = entry["error"]

    problems = []
    expected = [(c, f) for c, _, _, f in cases.OPERATOR_CASES] + [(f"conn_{c}", f) for c, f in cases.CONNECTION_CASES]
    for case, field in expected:
        message = refused.get(case) or failures.get(case)
        if message is None:
            problems.append(f"{case}: accepted (state {states.get(case)})")
        elif not names_field(message, field) or "Fix:" not in message:
            problems.append(f"{case}: message does not name {field!r} and the fix: {message[:300]}")
    requests = world.emu.requests[before:]
    late_paths = []
    for case, _, kwargs, _ in cases.OPERATOR_CASES:
        app = str(kwargs.get("app_name") or "")
        here = re.compile(rf"/sites/{app}(/|$|\?)")
        mine = [r for r in requests if app.startswith("c") and app[1:].isdigit() and here.search(r.path)]
        if case in LATE:
            late_paths += [r.path for r in mine]
            if any(r.kind != "arm" or r.method != "GET" for r in mine):
                problems.append(f"{case}: late, but did more than read ARM")
        elif mine:
            problems.append(f"{case}: reached Azure before failing")
    stray = [r for r in requests if r.kind in ("arm", "scm", "app", "vault") and r.path not in late_paths]
    if stray:
        problems.append(f"requests reached Azure: {sorted({(r.kind, r.path[:80]) for r in stray})[:10]}")
    assert not problems, f"{len(problems)} of {len(expected)} cases:\n" + "\n".join(problems)
