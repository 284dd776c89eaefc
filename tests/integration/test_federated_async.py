"""managed_identity_federated in an event loop (the triggerer): the managed-identity call that
makes the assertion is awaited, so a slow identity endpoint never blocks the loop."""

from __future__ import annotations

import asyncio
import time

from airflow_provider_appservice.hooks.app_service import AppServiceHook
from airflow_provider_appservice.identity.credentials import close_async_credentials, get_async_credential

from .identities import setup_identity

ARM = "https://management.azure.com/.default"
DELAY = 1.0  # seconds the emulator's managed-identity endpoint waits before answering
# A blocking call would stall the loop for the whole DELAY; half of it leaves room for a machine
# shared with other test runs (Airflow warns at 0.2 s; an idle machine measures ~0.01 s here).
MAX_GAP = DELAY / 2


async def _longest_gap(until: asyncio.Future) -> float:
    """Tick every 10 ms until ``until`` is done; return the longest time between two ticks."""
    longest, last = 0.0, time.monotonic()
    while not until.done():
        await asyncio.sleep(0.01)
        now = time.monotonic()
        longest, last = max(longest, now - last), now
    return longest


def test_a_slow_managed_identity_endpoint_does_not_block_the_loop(world, monkeypatch, use_conn):
    hook = AppServiceHook(
        azure_app_service_conn_id=use_conn("fed", setup_identity(world, "managed_identity_federated", monkeypatch))
    )
    config = hook.identity
    slow = world.emu.fault(kind="msi", delay=DELAY, times=1)
    mark = len(world.emu.requests)

    async def scenario() -> tuple[float, float, str]:
        credential = get_async_credential(config)
        started = time.monotonic()
        task = asyncio.ensure_future(credential.get_token(ARM))
        gap = await _longest_gap(task)
        token = (await task).token
        elapsed = time.monotonic() - started
        await close_async_credentials()
        return gap, elapsed, token

    gap, elapsed, token = asyncio.run(scenario())
    assert slow.hits == 1, "the managed-identity request went through the delayed endpoint"
    assert elapsed >= DELAY, "the token waited for the managed identity"
    # A blocking call stalls the loop for the whole managed-identity wait (about ``elapsed``); on
    # a machine whose cores are all busy (the suite runs two workers) ticks also come late, so
    # the bound grows with the measured wait and still stays well below a blocked loop.
    bound = max(MAX_GAP, 0.6 * elapsed)
    assert gap < bound, f"the loop was blocked for {gap:.3f} s while the managed identity took {elapsed:.3f} s"
    assert token
    kinds = [r.kind for r in world.emu.requests[mark:]]
    assert kinds.count("msi") == 1 and kinds.count("token") == 1, kinds  # assertion, then the exchange


def test_the_async_federated_credential_reuses_its_tokens(world, monkeypatch, use_conn):
    hook = AppServiceHook(
        azure_app_service_conn_id=use_conn("fed2", setup_identity(world, "managed_identity_federated", monkeypatch))
    )
    config = hook.identity
    mark = len(world.emu.requests)

    async def scenario() -> None:
        credential = get_async_credential(config)
        first = await credential.get_token(ARM)
        second = await credential.get_token(ARM)
        assert first.token == second.token
        await close_async_credentials()

    asyncio.run(scenario())
    kinds = [r.kind for r in world.emu.requests[mark:]]
    assert kinds.count("msi") == 1 and kinds.count("token") == 1, kinds
