"""azure-core transports that sleep on the hook's clock.

azure-core's ``RetryPolicy`` (its backoff and ``Retry-After`` waits) and its LRO pollers
(``polling_interval``, ``Retry-After`` between polls) all wait through ``transport.sleep``;
giving them a transport whose ``sleep`` is the hook's clock puts every SDK wait on the one
clock (``airflow_provider_appservice.clock``) without replacing any policy or poller.
"""

from __future__ import annotations

import functools
from typing import Any

from airflow_provider_appservice.clock import Clock


@functools.cache
def _classes() -> tuple[type, type]:
    from azure.core.pipeline.transport import AioHttpTransport, RequestsTransport

    class ClockedRequestsTransport(RequestsTransport):
        def __init__(self, clock: Clock, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self._clock = clock

        def sleep(self, duration: float) -> None:
            self._clock.sleep(duration)

    class ClockedAioHttpTransport(AioHttpTransport):
        def __init__(self, clock: Clock, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self._clock = clock

        async def sleep(self, duration: float) -> None:
            await self._clock.asleep(duration)

    return ClockedRequestsTransport, ClockedAioHttpTransport


def requests_transport(clock: Clock, **kwargs: Any) -> Any:
    """A sync transport (``RequestsTransport`` keyword arguments) that sleeps on ``clock``."""
    return _classes()[0](clock, **kwargs)


def aiohttp_transport_class() -> type:
    """The async transport class that sleeps on a clock (built by ``tls.aiohttp_transport``)."""
    return _classes()[1]
