"""Redis unreachable for a while (a TCP proxy between every service and Redis is cut): once it heals, every
message asked before and during the cut gets exactly one answer, and no worker is left stuck (fault 8).

Its own stack, because every service must reach Redis through the proxy.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from switchboard.devstack.redis_server import RedisServer
from switchboard.devstack.stack import Stack
from switchboard.emulator.client import EmulatorClient
from tests.faults.conftest import fault_stack, scaled
from tests.support.ledger import Ledger
from tests.support.tcp_proxy import TcpProxy

OUTAGE_S = 10
BEFORE = scaled(100, minimum=10)
DURING = scaled(50, minimum=5)


@pytest.fixture(scope="module")
def proxied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, TcpProxy]]:
    run_dir = Path(tmp_path_factory.mktemp("outage"))
    server = RedisServer(run_dir / "redis")
    server.start()
    proxy = TcpProxy(server.port)
    stack = Stack(fault_stack(run_dir, f"redis://127.0.0.1:{proxy.port}/0", short_limits=False))
    try:
        stack.start()
        yield stack, proxy
    finally:
        stack.stop()
        proxy.close()
        server.stop()


def test_a_redis_outage_loses_and_doubles_nothing(proxied: tuple[Stack, TcpProxy]) -> None:
    stack, proxy = proxied
    assert stack.emulator_url is not None
    emulator = EmulatorClient(stack.emulator_url)
    channels = [emulator.create_channel(f"outage-{n}")["id"] for n in range(10)]
    ledger = Ledger(emulator)
    for n in range(BEFORE):
        ledger.ask(channels[n % len(channels)], f"before the outage {n}")
    proxy.cut()
    try:
        for n in range(DURING):
            ledger.ask(channels[n % len(channels)], f"during the outage {n}")
        time.sleep(OUTAGE_S)
    finally:
        proxy.heal()

    settled = ledger.settle(timeout_s=180)
    print(f"after a {OUTAGE_S} s outage: {settled}")
    assert settled.exactly_once, settled
    assert all(process.running() for process in stack.services.values()), "a service died in the outage"
