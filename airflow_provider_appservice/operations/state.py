"""Waiting for an app's or slot's admin state (``Running``, ``Stopped``) without I/O, and its drivers.

:class:`StateWait` decides (the target reached? the deadline passed?); the worker's sensor feeds
it one read per poke (:func:`look_at_state`), the trigger runs :func:`await_state` (the async
driver, :func:`~airflow_provider_appservice.operations.waits.adrive`) and TaskFlow code may run
:func:`wait_for_state`. ``state`` is App Service's *admin* state: it says Running while a
container crash-loops, so it tells what was asked for, not that the app serves.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from airflow_provider_appservice.clock import Clock
from airflow_provider_appservice.errors import TaskArgumentError
from airflow_provider_appservice.operations.sites import SiteInfo, aget_site, get_site
from airflow_provider_appservice.operations.targets import AppTarget
from airflow_provider_appservice.operations.waits import PollingWait, WaitOutcome, adrive, drive

if TYPE_CHECKING:
    from azure.mgmt.web import WebSiteManagementClient

log = logging.getLogger(__name__)

# The admin states ARM's ``properties.state`` takes, as ARM spells them (start/stop set them).
ADMIN_STATES = ("Running", "Stopped")


def admin_state(target_state: Any) -> str:
    """``target_state`` as ARM spells it (any case accepted), or :class:`TaskArgumentError`.

    Called before any request: a misspelt state (``Runing``, ``started``) would otherwise
    wait until the timeout for a state that never comes.
    """
    text = str(target_state or "").strip()
    for state in ADMIN_STATES:
        if text.lower() == state.lower():
            return state
    raise TaskArgumentError(
        "target_state",
        f"{target_state!r} is not an App Service state",
        f"use one of {', '.join(ADMIN_STATES)}",
    )


class StateWait(PollingWait):
    """Done when the site's ``state`` equals the target (case-insensitive), else a timeout at
    ``deadline``. Feed each read with :meth:`on_state`; no state ever fails the wait early
    (a start or stop may still be under way).
    """

    def __init__(
        self,
        label: str,
        target_state: str,
        *,
        deadline: float,
        timeout: float,
        interval: float,
    ) -> None:
        super().__init__(deadline=deadline, timeout=timeout, interval=interval)
        self.label = label
        self.target_state = admin_state(target_state)
        self.state: str | None = None

    def reached(self, state: str) -> bool:
        return state.strip().lower() == self.target_state.lower()

    def on_state(self, state: str) -> str:
        """One read's verdict; returns the log line for it."""
        self.counted()
        self.state = state
        if self.reached(state):
            self.succeed(f"{self.label} is {state}")
            return f"{self.label} is {state}"
        return f"{self.label} is {state}, waiting for {self.target_state}"

    def timeout_message(self) -> str:
        last = f"'{self.state}'" if self.state is not None else "unknown (never read)"
        return (
            f"{self.label} did not reach state '{self.target_state}' within {self.timeout:g}s "
            f"({self.polls} reads; last state {last})"
        )


def look_at_state(client: WebSiteManagementClient, target: AppTarget, wait: StateWait, logger: Any = log) -> SiteInfo:
    """One read through the sync ARM client, fed to the wait (a sensor's poke)."""
    site = get_site(client, target.resource_group, target.app_name, target.slot)
    logger.info("%s", wait.on_state(site.state))
    return site


def wait_for_state(
    client: WebSiteManagementClient,
    target: AppTarget,
    wait: StateWait,
    *,
    clock: Clock | None = None,
    logger: Any = log,
) -> WaitOutcome:
    """Sync driver: read the site until the wait decides (``wait.deadline`` in ``clock.now()``)."""
    return drive(wait, lambda: look_at_state(client, target, wait, logger), clock)


async def await_state(
    client: Any,
    target: AppTarget,
    wait: StateWait,
    *,
    clock: Clock | None = None,
    logger: Any = log,
) -> tuple[WaitOutcome, SiteInfo | None]:
    """Async driver (the trigger's): the same wait, reads through the aio ARM client;
    ``wait.deadline`` is epoch seconds (``clock.wall()``). Returns the outcome and the last read."""
    last: list[SiteInfo] = []

    async def look() -> None:
        site = await aget_site(client, target.resource_group, target.app_name, target.slot)
        last[:] = [site]
        logger.info("%s", wait.on_state(site.state))

    outcome = await adrive(wait, look, clock)
    return outcome, (last[0] if last else None)
