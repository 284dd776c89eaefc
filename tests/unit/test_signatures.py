"""help() shows every argument: each public operator and sensor names the target arguments in its
signature, and its docstring documents every argument of its own signature."""

from __future__ import annotations

import importlib
import inspect

import pytest

MODULES = [
    "airflow_provider_appservice.operators.container",
    "airflow_provider_appservice.operators.deploy",
    "airflow_provider_appservice.operators.endpoint",
    "airflow_provider_appservice.operators.lifecycle",
    "airflow_provider_appservice.operators.settings",
    "airflow_provider_appservice.operators.swap",
    "airflow_provider_appservice.sensors.deployment",
    "airflow_provider_appservice.sensors.health",
    "airflow_provider_appservice.sensors.state",
]
TARGET = ("app_name", "resource_group", "slot", "azure_app_service_conn_id")


def public_classes() -> list[type]:
    found = []
    for name in MODULES:
        module = importlib.import_module(name)
        for attr, obj in vars(module).items():
            if (
                isinstance(obj, type)
                and attr.startswith("AppService")
                and attr.endswith(("Operator", "Sensor"))
                and obj.__module__ == name
            ):
                found.append(obj)
    return found


@pytest.mark.parametrize("cls", public_classes(), ids=lambda c: c.__name__)
def test_signature_and_docstring_show_every_argument(cls):
    signature = inspect.signature(cls.__init__)
    names = [p for p in signature.parameters if p not in ("self", "kwargs")]
    # The swap operator names its two slots (source_slot, target_slot) instead of one.
    wanted = [t for t in TARGET if not (t == "slot" and "source_slot" in names)]
    missing = [t for t in wanted if t not in names]
    assert not missing, f"help({cls.__name__}) hides {missing}: name them in __init__"
    doc = inspect.getdoc(cls) or ""
    undocumented = [n for n in names if f":param {n}:" not in doc]
    assert not undocumented, f"{cls.__name__}'s docstring lacks ':param' for {undocumented}"
