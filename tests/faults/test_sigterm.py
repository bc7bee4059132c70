"""Every service stopped with SIGTERM under load, one after another: each exits within its grace period by
itself (never SIGKILLed), and every message asked still gets exactly one answer (fault 10).

The grace period is the chart's: the longer of the task time limit and the step timeout, plus 30 s. A
stopping worker finishes the step it runs; a stopping planner finishes the activations it holds; the
gateway is stopped only once it has queued what it was asked (Discord does not send a new session the
messages of the old one), and is asked nothing while it is down.
"""

from __future__ import annotations

import time

import redis

from switchboard.core import keys
from switchboard.devstack.stack import Stack
from switchboard.emulator.client import EmulatorClient
from tests.conftest import wait_until
from tests.faults.conftest import GRACE_S, scaled
from tests.support.ledger import Ledger

BURST = scaled(100, minimum=10)
ORDER = ("tools", "inference", "planner", "gateway")


def test_each_service_stops_within_its_grace_and_loses_nothing(stack: Stack, emulator: EmulatorClient) -> None:
    client = redis.Redis.from_url(stack.redis_url, decode_responses=True)
    channels = [emulator.create_channel(f"sigterm-{n}")["id"] for n in range(10)]
    ledger = Ledger(emulator)
    stopped_in: dict[str, float] = {}
    for service in ORDER:
        burst = [ledger.ask(channels[n % len(channels)], f"before {service} stops, {n}") for n in range(BURST)]
        wait_until(lambda burst=burst: all(client.exists(keys.accepted(m)) for m in burst), 60, "the burst queued")
        process = stack.services[service]
        began = time.monotonic()
        process.stop(grace_s=GRACE_S + 5)
        stopped_in[service] = time.monotonic() - began
        assert process.returncode_was_own(), f"{service} was killed, not stopped:\n{process.tail()}"
        stack.services[service] = stack.service(service)
        stack.services[service].start()
        stack.wait_ready(time.monotonic() + 120)

    settled = ledger.settle(timeout_s=180)
    print(f"stopped in (s): { {name: round(s, 1) for name, s in stopped_in.items()} }; {settled}")
    assert all(seconds < GRACE_S for seconds in stopped_in.values()), stopped_in
    assert settled.exactly_once, settled
