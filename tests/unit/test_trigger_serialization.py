"""Every trigger survives the trip through Airflow's database: serialize -> JSON -> same trigger.

Trigger kwargs are stored and printed, so they may hold names, ids and numbers only.
"""

from __future__ import annotations

import importlib
import json

import pytest

from airflow_provider_appservice.get_provider_info import get_provider_info

TARGET = {
    "azure_app_service_conn_id": "c",
    "resource_group": "rg",
    "app_name": "shop",
    "slot": "staging",
    "poll_interval": 3.0,
}
EXTRA = {
    "AppServiceStateTrigger": {"target_state": "Stopped", "deadline": 1.8e9, "timeout": 300.0},
    "AppServiceSwapTrigger": {
        "target_slot": None,
        "deadline": 1.8e9,
        "continuation_token": "eyJ4IjoxfQ==",
        "before": "2026-11-21T10:00:00+00:00",
    },
    "AppServiceDeploymentTrigger": {
        "deployment_id": "d-1",
        "deadline": 1.8e9,
        "scm_host": "shop-staging.scm.azurewebsites.net",
    },
    "AppServiceHealthTrigger": {
        "path": "/healthz",
        "scope": "api://orders/.default",
        "hosts": ["shop-staging.azurewebsites.net"],
        "base_url": "https://shop-staging.azurewebsites.net",
        "required_consecutive": 3,
        "check": {
            "expected_status": [200],
            "json_path": "status",
            "equals": "Healthy",
            "contains": None,
            "regex": None,
        },
        "request_timeout": 5.0,
        "deadline": 1.8e9,
        "timeout": 300.0,
    },
    "AppServiceContainerReadyTrigger": {
        "image": "myacr.azurecr.io/shop:2.0",
        "path": "/healthz",
        "scope": None,
        "hosts": ["shop-staging.azurewebsites.net"],
        "base_url": "https://shop-staging.azurewebsites.net",
        "required_consecutive": 3,
        "deadline": 1.8e9,
        "timeout": 900.0,
        "state": "Running",
    },
    "AppServiceSwapPreviewTrigger": {"target_slot": None, "deadline": 1.8e9, "timeout": 1800.0, "started": 1.7e9},
    "AppServiceKeyVaultReferencesTrigger": {
        "watch": {"appsettings": ["DB_PASSWORD"], "connectionstrings": None},
        "deadline": 1.8e9,
        "timeout": 300.0,
        "written": {"set": ["DB_PASSWORD"], "removed": [], "sticky": []},
    },
}


def trigger_classes() -> list[type]:
    modules = [m for item in get_provider_info()["triggers"] for m in item["python-modules"]]
    found = []
    for module in modules:
        for name in dir(mod := importlib.import_module(module)):
            obj = getattr(mod, name)
            if isinstance(obj, type) and name in EXTRA and obj.__module__ == module:
                found.append(obj)
    return found


def test_every_listed_trigger_is_covered():
    assert sorted(c.__name__ for c in trigger_classes()) == sorted(EXTRA)


@pytest.mark.parametrize("cls", trigger_classes(), ids=lambda c: c.__name__)
def test_serialize_round_trips_through_json(cls):
    trigger = cls(**TARGET, **EXTRA[cls.__name__])
    classpath, kwargs = trigger.serialize()
    stored = json.loads(json.dumps(kwargs))  # what the triggerer reads back from the database
    module, _, name = classpath.rpartition(".")
    again = getattr(importlib.import_module(module), name)(**stored)
    assert again.serialize() == (classpath, kwargs)
    assert type(again) is cls


@pytest.mark.parametrize("name", ["AppServiceStateTrigger", "AppServiceHealthTrigger"])
def test_a_trigger_stored_without_a_deadline_is_refused(name):
    """A row without its own deadline could poll forever (``dag.test()`` has no trigger timeout):
    it is refused when read back, naming the deadline and the fix, before any call."""
    from airflow_provider_appservice.errors import TaskArgumentError

    (cls,) = [c for c in trigger_classes() if c.__name__ == name]
    old = {k: v for k, v in EXTRA[name].items() if k not in ("deadline", "timeout")}
    with pytest.raises(TaskArgumentError, match=r"'deadline': is missing\. Fix: clear the task"):
        cls(**TARGET, **old)
