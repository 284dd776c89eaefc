"""The suite's two network guards, proven without ever opening a non-loopback connection.

1. ``.ci/netguard`` runs the suite in a network namespace whose only interface is ``lo``
   (``socket.if_nameindex`` asks the kernel about *this* namespace; /sys would show the host's).
2. pytest-socket (``--allow-hosts=127.0.0.1,::1,localhost``) refuses a foreign address in
   Python, before the real ``connect`` syscall — which this test replaces with a tripwire, so
   even a broken guard could not send a packet.
"""

from __future__ import annotations

import os
import socket

import pytest
import pytest_socket


def test_the_suite_runs_in_a_loopback_only_namespace():
    if os.environ.get("APPSERVICE_NETNS") != "1":
        if os.environ.get("APPSERVICE_REQUIRE_NETNS") == "1":
            pytest.fail("CI requires the loopback-only namespace (.ci/netguard) and this run is outside it")
        pytest.skip("not started through .ci/netguard (make test always is)")
    assert [name for _, name in socket.if_nameindex()] == ["lo"]


def test_pytest_socket_refuses_a_foreign_address_before_any_syscall(monkeypatch):
    calls: list[object] = []

    def tripwire(*args: object, **kwargs: object) -> None:
        calls.append(args)
        raise AssertionError("the real connect() was reached")

    monkeypatch.setattr(pytest_socket, "_true_connect", tripwire)
    with (
        socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock,
        pytest.raises(pytest_socket.SocketConnectBlockedError),
    ):
        sock.connect(("192.0.2.1", 443))  # TEST-NET-1 (RFC 5737): documentation only, never routed
    assert calls == []


def test_loopback_stays_allowed(emulator):
    with socket.create_connection(("127.0.0.1", emulator.proxy_port), timeout=5):
        pass
