"""Starting, stopping and reaching the emulator: its files, its environment, its proxy (which
never dials out), Entra's error answers, and the command line."""

from __future__ import annotations

import asyncio
import os
import socket
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import CertificateCredential, ClientSecretCredential
from cryptography import x509

from airflow_provider_appservice.testing import AppServiceEmulator

from .scenarios import make_scenario

ARM_SCOPE = "https://management.azure.com/.default"


def _mode(path: str) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_private_directory_and_no_readable_keys(emu):
    cp = emu.add_certificate_principal(emu.add_tenant(), password="pw")
    wi = emu.add_workload_identity(emu.add_tenant())
    assert _mode(emu.data_dir) == 0o700
    assert os.path.dirname(emu.ca_path) == emu.data_dir
    ca = x509.load_pem_x509_certificate(Path(emu.ca_path).read_bytes())
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    for name in os.listdir(emu.data_dir):
        path = os.path.join(emu.data_dir, name)
        content = Path(path).read_bytes()
        if b"PRIVATE KEY" in content or path in (cp.certificate_path, wi.token_file):
            assert _mode(path) == 0o600, name
    assert b"PRIVATE KEY" not in Path(emu.ca_path).read_bytes()


def test_start_stop_is_clean_and_quick():
    before = {t.name for t in threading.enumerate()}
    emu = AppServiceEmulator()
    with emu:
        ports = (emu.http_port, emu.proxy_port)
        data_dir = emu.data_dir
        assert "appservice-emulator" in {t.name for t in threading.enumerate()}
    assert {t.name for t in threading.enumerate()} == before
    assert not os.path.exists(data_dir)
    for port in ports:
        with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            pass


def test_env_and_apply_env_restore(appservice_emulator, monkeypatch):
    emu = appservice_emulator
    monkeypatch.setenv("HTTPS_PROXY", "http://corporate:3128")
    monkeypatch.delenv("IDENTITY_ENDPOINT", raising=False)
    env = emu.env
    assert env["HTTPS_PROXY"] == env["https_proxy"] == f"http://127.0.0.1:{emu.proxy_port}"
    assert env["NO_PROXY"] == env["no_proxy"] == "127.0.0.1,localhost"
    assert env["REQUESTS_CA_BUNDLE"] == env["SSL_CERT_FILE"] == emu.ca_path
    assert env["IDENTITY_ENDPOINT"] == f"http://127.0.0.1:{emu.http_port}/msi/token"
    assert env["AZURE_POD_IDENTITY_AUTHORITY_HOST"] == f"http://127.0.0.1:{emu.http_port}"
    assert "AZURE_AUTHORITY_HOST" not in env
    with emu.apply_env():
        assert os.environ["HTTPS_PROXY"] == env["HTTPS_PROXY"]
        assert os.environ["IDENTITY_HEADER"] == emu.identity_header
    assert os.environ["HTTPS_PROXY"] == "http://corporate:3128"
    assert "IDENTITY_ENDPOINT" not in os.environ


def _proxy_exchange(emu, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", emu.proxy_port), timeout=5) as s:
        s.sendall(request)
        data = b""
        while chunk := s.recv(4096):
            data += chunk
        return data


def test_proxy_refuses_hosts_it_does_not_serve(emu):
    answer = _proxy_exchange(emu, b"CONNECT example.invalid:443 HTTP/1.1\r\nHost: example.invalid:443\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 403 ")
    answer = _proxy_exchange(emu, b"CONNECT management.azure.com:8443 HTTP/1.1\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 403 ")
    answer = _proxy_exchange(emu, b"GET http://example.invalid/ HTTP/1.1\r\nHost: example.invalid\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 403 ")
    refused = [(r.method, r.host, r.status) for r in emu.requests if r.kind == "proxy-refused"]
    assert refused == [
        ("CONNECT", "example.invalid", 403),
        ("CONNECT", "management.azure.com", 403),
        ("GET", "example.invalid", 403),
    ]


def test_proxy_forwards_plain_http_for_known_hosts(emu):
    """Linux Kudu poll URLs can be http://…:80; the proxy forwards them to the emulator."""
    sc = make_scenario(emu)
    host = sc.site.default_host_name
    answer = _proxy_exchange(emu, f"GET http://{host}:80/ HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    assert answer.startswith(b"HTTP/1.1 200 ") and b"Emulated app app" in answer
    assert [(r.kind, r.host, r.path) for r in emu.requests] == [("app", host, "/")]


def test_tls_certificate_names_the_host(emu):
    r = requests.get("https://management.azure.com/", verify=emu.ca_path)
    assert r.status_code == 401  # reached ARM over TLS with the emulator CA; no token sent


def test_entra_discovery_documents(emu):
    t = emu.add_tenant()
    base = f"https://login.microsoftonline.com/{t.tenant_id}"
    doc = requests.get(f"{base}/v2.0/.well-known/openid-configuration", verify=emu.ca_path).json()
    assert doc["token_endpoint"] == f"{base}/oauth2/v2.0/token"
    assert doc["issuer"] == f"{base}/v2.0" and doc["authorization_endpoint"]
    missing = requests.get(
        "https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000/v2.0/.well-known/openid-configuration",
        verify=emu.ca_path,
    )
    assert missing.status_code == 400 and "AADSTS90002" in missing.json()["error_description"]
    inst = requests.get(
        "https://login.microsoftonline.com/common/discovery/instance",
        params={"api-version": "1.1", "authorization_endpoint": f"{base}/oauth2/v2.0/authorize"},
        verify=emu.ca_path,
    ).json()
    assert inst["tenant_discovery_endpoint"] == f"{base}/v2.0/.well-known/openid-configuration"
    china = emu.add_tenant(cloud="china")
    doc = requests.get(
        f"https://login.chinacloudapi.cn/{china.tenant_id}/v2.0/.well-known/openid-configuration", verify=emu.ca_path
    ).json()
    assert doc["token_endpoint"].startswith("https://login.chinacloudapi.cn/")


def test_entra_errors_surface_through_the_credential(emu):
    sc = make_scenario(emu, "secret")
    t = sc.tenant.tenant_id
    bad_secret = ClientSecretCredential(t, sc.principal.client_id, "wrong-secret", connection_verify=emu.ca_path)
    with pytest.raises(ClientAuthenticationError, match="AADSTS7000215"):
        bad_secret.get_token(ARM_SCOPE)
    unknown = ClientSecretCredential(t, "11111111-1111-1111-1111-111111111111", "x", connection_verify=emu.ca_path)
    with pytest.raises(ClientAuthenticationError, match="AADSTS700016"):
        unknown.get_token(ARM_SCOPE)
    no_tenant = ClientSecretCredential(
        "00000000-0000-0000-0000-000000000000", sc.principal.client_id, "x", connection_verify=emu.ca_path
    )
    # msal (sync) replaces the discovery error with its own text, as it does against real Entra;
    # the aio credential posts to the token endpoint directly and shows AADSTS90002.
    with pytest.raises(ClientAuthenticationError, match="authority configuration"):
        no_tenant.get_token(ARM_SCOPE)

    async def aio_no_tenant():
        from azure.identity.aio import ClientSecretCredential as AioClientSecretCredential

        async with AioClientSecretCredential(
            "00000000-0000-0000-0000-000000000000", sc.principal.client_id, "x", connection_verify=emu.ca_path
        ) as cred:
            await cred.get_token(ARM_SCOPE)

    with pytest.raises(ClientAuthenticationError, match="AADSTS90002"):
        asyncio.run(aio_no_tenant())
    good = ClientSecretCredential(t, sc.principal.client_id, sc.principal.secret, connection_verify=emu.ca_path)
    with pytest.raises(ClientAuthenticationError, match="AADSTS500011"):
        good.get_token("https://unknown.example/.default")
    assert emu.token_requests() == 0


def test_certificate_assertion_is_checked_against_the_registered_certificate(emu):
    t = emu.add_tenant()
    cp = emu.add_certificate_principal(t)
    other = emu.add_certificate_principal(t)
    assert other.certificate_pem is not None and cp.certificate_pem is not None
    impostor = CertificateCredential(
        t.tenant_id, cp.client_id, certificate_data=other.certificate_pem.encode(), connection_verify=emu.ca_path
    )
    with pytest.raises(ClientAuthenticationError, match="AADSTS700027"):
        impostor.get_token(ARM_SCOPE)
    pfx = emu.add_certificate_principal(t, password="pfx-pass")
    real = CertificateCredential(
        t.tenant_id, pfx.client_id, certificate_data=pfx.pkcs12, password="pfx-pass", connection_verify=emu.ca_path
    )
    assert real.get_token(ARM_SCOPE).token in emu.issued_tokens()


def test_federated_credential_must_match(emu):
    """An app trusting one managed identity does not accept another one's token."""
    from azure.identity import ClientAssertionCredential, ManagedIdentityCredential

    t = emu.add_tenant()
    trusted = emu.add_managed_identity(t)
    app = emu.add_app_registration(t, trusts=trusted)
    emu.add_managed_identity(t)  # now the system-assigned identity is a different one
    mi = ManagedIdentityCredential(connection_verify=emu.ca_path)
    cred = ClientAssertionCredential(
        t.tenant_id,
        app.client_id,
        lambda: mi.get_token("api://AzureADTokenExchange/.default").token,
        connection_verify=emu.ca_path,
    )
    with pytest.raises(ClientAuthenticationError, match="AADSTS70021"):
        cred.get_token(ARM_SCOPE)
    emu.use_system_identity(trusted)
    mi2 = ManagedIdentityCredential(connection_verify=emu.ca_path)
    ok = ClientAssertionCredential(
        t.tenant_id,
        app.client_id,
        lambda: mi2.get_token("api://AzureADTokenExchange/.default").token,
        connection_verify=emu.ca_path,
    )
    assert ok.get_token(ARM_SCOPE).token


def _cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HTTPS_PROXY", "https_proxy"))}
    return subprocess.run(
        [sys.executable, "-m", "airflow_provider_appservice.testing", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )


CHILD = """
import os, requests
tenant = os.environ["APPSERVICE_EMULATOR_TENANT_ID"]
doc = requests.get(f"https://login.microsoftonline.com/{tenant}/v2.0/.well-known/openid-configuration").json()
print("site", os.environ["APPSERVICE_EMULATOR_SITE_NAME"], os.environ["APPSERVICE_EMULATOR_SITE_HOST"])
print("issuer", doc["issuer"])
raise SystemExit(7)
"""


def test_cli_run_executes_a_command_inside_the_environment():
    result = _cli("run", "--", sys.executable, "-c", CHILD)
    assert result.returncode == 7, result.stderr
    lines = dict(line.split(" ", 1) for line in result.stdout.splitlines())
    assert lines["site"] == "webapp webapp.azurewebsites.net"
    assert lines["issuer"].startswith("https://login.microsoftonline.com/")


def test_cli_serve_prints_exports_and_stops_on_sigterm():
    proc = subprocess.Popen(
        [sys.executable, "-m", "airflow_provider_appservice.testing"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        exports = {}
        for line in proc.stdout:
            if line.startswith("#"):
                break
            key, _, value = line.removeprefix("export ").rstrip("\n").partition("=")
            exports[key] = value
        assert exports["HTTPS_PROXY"].startswith("http://127.0.0.1:")
        assert {"APPSERVICE_EMULATOR_TENANT_ID", "APPSERVICE_EMULATOR_VAULT_URL", "IDENTITY_HEADER"} <= set(exports)
        with socket.create_connection(("127.0.0.1", int(exports["APPSERVICE_EMULATOR_PROXY_PORT"])), timeout=5):
            pass
    finally:
        proc.terminate()
        code = proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()
    assert code == 0


def test_cli_run_help_prints_help_and_says_what_it_seeds():
    result = _cli("run", "--help", timeout=30)
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout and "rg-demo" in result.stdout and "sp-client-secret" in result.stdout
    no_command = _cli("run", timeout=30)
    assert no_command.returncode == 2 and "run needs a command after --" in no_command.stderr


def test_cli_swap_retry_after_sets_the_swap_pacing(emu):
    from airflow_provider_appservice.testing.__main__ import _parser, world_env

    args = _parser().parse_args(["run", "--swap-retry-after", "1", "--", "true"])
    assert args.swap_retry_after == 1 and _parser().parse_args(["serve"]).swap_retry_after == 15
    world_env(emu, "public", args.swap_retry_after)
    assert emu.lro_retry_after == 1
