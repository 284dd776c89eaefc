"""Audit lines: once in the task log, once to the routable audit logger, never through root twice."""

from __future__ import annotations

import logging

from airflow_provider_appservice.audit import AUDIT_LOGGER, audit
from airflow_provider_appservice.identity.config import parse_identity_config


class Recorder(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_the_line_reaches_the_task_log_and_the_routed_handler_once_each() -> None:
    identity = parse_identity_config("c", login=None, password=None, extras={"auth_type": "managed_identity"})
    task_log, routed, root = Recorder(), Recorder(), Recorder()
    task_logger = logging.getLogger("test.audit.task")
    task_logger.propagate = False
    task_logger.addHandler(task_log)
    task_logger.setLevel(logging.INFO)
    AUDIT_LOGGER.addHandler(routed)
    AUDIT_LOGGER.setLevel(logging.INFO)
    logging.getLogger().addHandler(root)
    try:
        audit(
            task_logger,
            identity,
            "restart",
            "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Web/sites/shop",
            outcome="succeeded",
        )
    finally:
        AUDIT_LOGGER.removeHandler(routed)
        logging.getLogger().removeHandler(root)
    assert len(task_log.lines) == 1 and task_log.lines == routed.lines
    assert task_log.lines[0].startswith("AUDIT action=restart ") and "identity=managed_identity:" in task_log.lines[0]
    assert not [line for line in root.lines if line.startswith("AUDIT")], "not a second time through the root logger"
