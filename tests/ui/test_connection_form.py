"""The connection form as users meet it: a real Airflow 3.3 UI in headless Chromium.

The expected fields come from ``get_provider_info()`` (the provider's ``conn-fields`` and
``ui-field-behaviour``), never from a copy in this file. The Test button runs
``AppServiceHook.test_connection()`` inside the API server, which reaches the local Azure
emulator (``airflow_provider_appservice.testing``) through the environment it was started with.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from airflow_provider_appservice.get_provider_info import get_provider_info

from .conftest import ARTIFACTS, ApiServer, run_api_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CONN_TYPE = "azure_app_service"
TOAST_TIMEOUT = 60_000  # ms; a connection test gets a token and lists apps through the emulator


def _connection_type() -> dict[str, Any]:
    info = get_provider_info()
    (entry,) = [c for c in info["connection-types"] if c["connection-type"] == CONN_TYPE]
    return entry


CONN_FIELDS: dict[str, dict[str, Any]] = _connection_type()["conn-fields"]
UI_BEHAVIOUR: dict[str, Any] = _connection_type()["ui-field-behaviour"]
HOOK_NAME: str = _connection_type()["hook-name"]


# The hook requires only auth_type up front; every other field depends on the auth type, so the
# form must let it be empty (JSON schema type including "null", as the official providers do).
REQUIRED_EXTRAS = {"auth_type"}


# --- fixtures -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def emulator() -> Iterator[Any]:
    """The local Azure, or None when ``airflow_provider_appservice.testing`` cannot be imported
    (the Test-button tests then fail, naming the import error; the form tests still run)."""
    try:
        from airflow_provider_appservice.testing import AppServiceEmulator
    except ImportError as exc:
        yield exc
        return
    with AppServiceEmulator() as emu:
        yield emu


@pytest.fixture(scope="module")
def server(emulator: Any) -> Iterator[ApiServer]:
    """One API server for the module (~10 s to start); the emulator's env routes its Azure calls."""
    extra_env = emulator.env if not isinstance(emulator, BaseException) else {}
    with run_api_server(extra_env) as srv:
        yield srv


@pytest.fixture
def emu(emulator: Any) -> Any:
    if isinstance(emulator, BaseException):
        pytest.fail(
            "The Test-button tests need the local Azure emulator, but "
            f"`import airflow_provider_appservice.testing` failed: {emulator!r}"
        )
    emulator.reset()
    return emulator


# --- helpers --------------------------------------------------------------------------------------


def open_add_connection(page: Page, server: ApiServer, conn_id: str | None = None) -> Locator:
    """Open the "Add Connection" dialog and pick the provider's type by its hook name."""
    page.goto(f"{server.url}/connections")
    page.get_by_role("button", name="Add Connection").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    if conn_id is not None:
        dialog.locator("input[name=connection_id]").fill(conn_id)
    picker = dialog.get_by_role("combobox", name="Connection Type")
    picker.fill(HOOK_NAME)
    page.get_by_role("option", name=HOOK_NAME, exact=True).click()
    expect(dialog.get_by_role("button", name="Extra Fields", exact=True)).to_be_visible()
    return dialog


def open_section(dialog: Locator, name: str) -> Locator:
    """Expand one accordion section (only one is open at a time) and return its region."""
    trigger = dialog.get_by_role("button", name=name, exact=True)
    if trigger.get_attribute("aria-expanded") != "true":
        trigger.click()
    # The region's aria-labelledby id contains a space, so it has no accessible name: use the id.
    region = dialog.locator(f'[id="{trigger.get_attribute("aria-controls")}"]')
    expect(region).to_be_visible()
    return region


def field_row(scope: Locator, input_name: str) -> Locator:
    """The form row (label, control, helper text) that holds the control named ``input_name``."""
    return scope.locator("[data-scope=field][data-part=root]").filter(has=scope.page.locator(f"[name='{input_name}']"))


def choose(page: Page, scope: Locator, key: str, option: str) -> None:
    """Pick ``option`` in the react-select of enum field ``key``."""
    scope.locator(f"#element_{key} [role=combobox]").click()
    page.get_by_role("option", name=option, exact=True).click()


def fill_extras(page: Page, dialog: Locator, extras: dict[str, str]) -> None:
    section = open_section(dialog, "Extra Fields")
    for key, value in extras.items():
        schema = CONN_FIELDS[key]["schema"]
        if "enum" in schema:
            choose(page, section, key, value)
        else:
            section.locator(f"[name='element_{key}']").fill(value)


def save(page: Page, dialog: Locator) -> dict[str, Any]:
    """Click Save and return the POST body the UI sent (after checking it was created)."""
    button = dialog.get_by_role("button", name="Save")
    if not button.is_enabled():
        required = dialog.locator("[name^=element_][required]").evaluate_all("els => els.map(e => e.name)")
        pytest.fail(f"Save is disabled; the form marks these extra fields as required: {required}")
    with page.expect_response(lambda r: r.url.endswith("/api/v2/connections") and r.request.method == "POST") as info:
        button.click()
    response = info.value
    assert response.status == 201, f"POST /api/v2/connections -> {response.status}: {response.text()}"
    expect(page.get_by_text("Connection has been successfully created")).to_be_visible()
    return json.loads(response.request.post_data or "{}")


def store_port(server: ApiServer, conn_id: str) -> None:
    """Work around the Airflow 3.3.2 Test button: for a connection with no stored port the row's
    Test sends ``port: 0``, the API server sees a different port than the stored NULL, answers
    400 "host or port differs" and the toast says only "Bad Request". Storing a port (hidden in
    this form and unused by the hook) makes the UI send the same value back."""
    server.api(
        "PATCH",
        f"/api/v2/connections/{conn_id}?update_mask=port",
        {"connection_id": conn_id, "conn_type": CONN_TYPE, "port": 443},
        expect=200,
    )


def create_connection(server: ApiServer, conn_id: str, extra: dict[str, Any], **fields: Any) -> None:
    body = {"connection_id": conn_id, "conn_type": CONN_TYPE, "extra": json.dumps(extra), **fields}
    server.api("POST", "/api/v2/connections", body, expect=201)
    store_port(server, conn_id)


def click_test(page: Page, server: ApiServer, conn_id: str) -> tuple[str, str, dict[str, Any]]:
    """Click the row's "Test Connection", keep a screenshot of the toast in test-artifacts/, and
    return (toast title, toast text, API answer)."""
    page.goto(f"{server.url}/connections")  # fresh page: no tooltip of an earlier row in the way
    row = page.get_by_role("row").filter(has=page.get_by_text(conn_id, exact=True))
    with page.expect_response(lambda r: r.url.endswith("/api/v2/connections/test"), timeout=TOAST_TIMEOUT) as info:
        row.get_by_role("button", name="Test Connection").click()
    response = info.value
    answer = response.json()
    assert response.status == 200, f"POST /api/v2/connections/test -> {response.status}: {answer}"
    toast = page.locator("[data-scope=toast][data-part=root]").filter(has_text="Test Connection")
    expect(toast).to_be_visible(timeout=TOAST_TIMEOUT)
    title = toast.locator("[data-part=title]").inner_text().strip()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"connection-test-{conn_id}.png"))
    return title, toast.inner_text(), answer


def assert_clean(text: str, *secrets: str) -> None:
    assert "Traceback" not in text and 'File "' not in text, text
    for secret in secrets:
        assert secret not in text


# --- the form -------------------------------------------------------------------------------------


def test_form_shows_every_field_with_label_and_description(page: Page, server: ApiServer, artifacts_dir) -> None:
    dialog = open_add_connection(page, server, "form_check")

    standard = open_section(dialog, "Standard Fields")
    relabel = UI_BEHAVIOUR["relabeling"]
    for name in ("login", "password"):
        expect(field_row(standard, name).locator("label")).to_have_text(relabel[name])
    expect(standard.locator("input[name=password]")).to_have_attribute("type", "password")
    for hidden in UI_BEHAVIOUR["hidden-fields"]:
        expect(dialog.locator(f"[name='{hidden}']")).to_have_count(0)
    page.screenshot(path=str(artifacts_dir / "connection-form-standard.png"), full_page=True)

    extra = open_section(dialog, "Extra Fields")
    for key, spec in CONN_FIELDS.items():
        row = field_row(extra, f"element_{key}")
        expect(row, f"extra field {key}").to_have_count(1)
        label = row.locator("label")
        expect(label).to_be_visible()
        # A required field's label carries a "*" indicator after the text.
        expect(label).to_have_text(re.compile(rf"^\s*{re.escape(spec['label'])}\s*\*?\s*$"))
        helper = row.locator("[data-part=helper-text]")
        expect(helper).to_be_visible()
        expect(helper).to_have_text(spec["description"])

    expect(extra.locator("input[name=element_client_certificate_password]")).to_have_attribute("type", "password")
    expect(extra.locator("textarea[name=element_client_certificate_private_key]")).to_be_visible()
    expect(extra.locator("textarea[name=element_allowed_audiences]")).to_be_visible()  # one audience a line
    page.screenshot(path=str(artifacts_dir / "connection-form-extra.png"), full_page=True)
    page.screenshot(path=str(artifacts_dir / "connection-form.png"), full_page=True)

    # Checked before any enum is chosen: a react-select drops its hidden required input once set.
    required = set(extra.locator("[name^=element_][required]").evaluate_all("els => els.map(e => e.name)"))

    enums = {k: v["schema"]["enum"] for k, v in CONN_FIELDS.items() if "enum" in v["schema"]}
    assert {"auth_type", "cloud"} <= set(enums)
    for key, values in enums.items():
        extra.locator(f"#element_{key} [role=combobox]").click()
        options = page.get_by_role("option")
        expect(options).to_have_text([str(v) for v in values])
        page.get_by_role("option", name=str(values[0]), exact=True).click()  # closes the menu

    assert {n.removeprefix("element_") for n in required} == REQUIRED_EXTRAS, (
        "Only auth_type may be required; optional conn-fields need a schema type that allows "
        'null (e.g. ["string", "null"]), or the form blocks Save until every field is filled.'
    )


def test_managed_identity_connection_saved_through_form_stores_plain_extras(page: Page, server: ApiServer) -> None:
    extras = {
        "auth_type": "managed_identity",
        "subscription_id": "00000000-0000-0000-0000-00000000beef",
        "resource_group": "rg-ui",
    }
    dialog = open_add_connection(page, server, "ui_mi_saved")
    fill_extras(page, dialog, extras)
    save(page, dialog)

    _, stored = server.api("GET", "/api/v2/connections/ui_mi_saved", expect=200)
    assert stored["conn_type"] == CONN_TYPE
    stored_extra = json.loads(stored["extra"])
    # Plain keys, not extra__azure_app_service__*; fields left empty are stored as null.
    assert {k: stored_extra[k] for k in extras} == extras
    assert not [k for k in stored_extra if k.startswith("extra__")]
    assert set(stored_extra) <= set(CONN_FIELDS)
    assert all(stored_extra[k] is None for k in set(stored_extra) - set(extras)), stored_extra


# --- the Test button ------------------------------------------------------------------------------


def test_test_button_names_missing_tenant_without_traceback(page: Page, server: ApiServer) -> None:
    create_connection(
        server,
        "ui_sp_no_tenant",
        {"auth_type": "service_principal_secret"},
        login="11111111-2222-3333-4444-555555555555",
        password="canary-secret-no-tenant",
    )
    title, text, answer = click_test(page, server, "ui_sp_no_tenant")
    assert answer["status"] is False
    assert title == "Test Connection Failed"
    assert "tenant_id" in text
    assert_clean(text, "canary-secret-no-tenant")


def test_test_button_refuses_a_powerful_allowed_audience_naming_the_field(page: Page, server: ApiServer) -> None:
    create_connection(
        server,
        "ui_powerful_audience",
        {"auth_type": "managed_identity", "allowed_audiences": "api://orders\nhttps://management.azure.com."},
    )
    title, text, answer = click_test(page, server, "ui_powerful_audience")
    assert answer["status"] is False
    assert title == "Test Connection Failed"
    assert "allowed_audiences" in text and "management.azure.com" in text, text
    assert_clean(text)


def test_test_button_managed_identity_from_form_succeeds(page: Page, server: ApiServer, emu: Any) -> None:
    tenant = emu.add_tenant()
    sub = emu.add_subscription(tenant)
    emu.add_site(sub, "rg-ui-mi", "ui-mi-app")
    mi = emu.add_managed_identity(tenant)  # the latest system-assigned identity answers MSI
    emu.assign_role(mi, "Reader", f"/subscriptions/{sub}")

    dialog = open_add_connection(page, server, "ui_mi")
    fill_extras(
        page,
        dialog,
        {
            "auth_type": "managed_identity",
            "subscription_id": sub,
            "resource_group": "rg-ui-mi",
            "ca_bundle": emu.ca_path,
        },
    )
    save(page, dialog)
    store_port(server, "ui_mi")

    title, text, answer = click_test(page, server, "ui_mi")
    assert answer["status"] is True, answer
    assert title == "Test Connection Successful", text
    assert "rg-ui-mi" in text and "1 app(s)" in text, text
    assert_clean(text)


def test_test_button_service_principal_secret_succeeds(page: Page, server: ApiServer, emu: Any) -> None:
    tenant = emu.add_tenant()
    sub = emu.add_subscription(tenant)
    sp = emu.add_service_principal(tenant)
    emu.assign_role(sp, "Reader", f"/subscriptions/{sub}")
    create_connection(
        server,
        "ui_sp_ok",
        {
            "auth_type": "service_principal_secret",
            "tenant_id": tenant.tenant_id,
            "subscription_id": sub,
            "ca_bundle": emu.ca_path,
        },
        login=sp.client_id,
        password=sp.secret,
    )
    title, text, answer = click_test(page, server, "ui_sp_ok")
    assert answer["status"] is True, answer
    assert title == "Test Connection Successful", text
    assert sp.client_id in text, text
    assert_clean(text, sp.secret)


def test_test_button_wrong_tenant_fails_clearly(page: Page, server: ApiServer, emu: Any) -> None:
    tenant = emu.add_tenant()
    sub = emu.add_subscription(tenant)
    sp = emu.add_service_principal(tenant)
    emu.assign_role(sp, "Reader", f"/subscriptions/{sub}")
    wrong_tenant = "00000000-0000-0000-0000-00000000dead"
    create_connection(
        server,
        "ui_sp_wrong_tenant",
        {
            "auth_type": "service_principal_secret",
            "tenant_id": wrong_tenant,
            "subscription_id": sub,
            "ca_bundle": emu.ca_path,
        },
        login=sp.client_id,
        password=sp.secret,
    )
    title, text, answer = click_test(page, server, "ui_sp_wrong_tenant")
    assert answer["status"] is False, answer
    assert title == "Test Connection Failed", text
    message = answer["message"]
    assert len(message.splitlines()) == 1, message
    assert "AADSTS90002" in message or wrong_tenant in message, message
    assert "tenant_id" in message, message  # names the field to fix
    assert_clean(text, sp.secret)
