"""Planners SIGKILLed between reading an activation and acknowledging it: every message still gets exactly one
answer (fault 3 of the reliability promise: 50 kills in 500 activations under the full suite).

Real processes end to end: the Discord emulator, the gateway, planners, a tools worker and the inference
service (Ray, echo model). A killer thread waits until the planner holds activations it has read but not
acknowledged, SIGKILLs it, and starts a new planner; the survivors' `XAUTOCLAIM` takes the orphans over.
"""

from __future__ import annotations

import threading
import time

import redis

from switchboard.core.keys import Group, Stream
from switchboard.devstack.stack import Stack
from switchboard.emulator.client import EmulatorClient
from tests.faults.conftest import scaled
from tests.support.ledger import Ledger

ACTIVATIONS = scaled(500, minimum=40)
KILLS = scaled(50, minimum=4)
CHANNELS = 10


def in_flight(client: redis.Redis) -> int:
    return int(client.xpending(Stream.ACTIVATIONS, Group.PLANNERS)["pending"])


def test_planners_killed_mid_activation_lose_and_duplicate_nothing(stack: Stack, emulator: EmulatorClient) -> None:
    client = redis.Redis.from_url(stack.redis_url, decode_responses=True)
    channels = [emulator.create_channel(f"kills-{n}")["id"] for n in range(CHANNELS)]
    ledger = Ledger(emulator)
    kills = 0
    done = threading.Event()

    def killer() -> None:
        nonlocal kills
        deadline = time.monotonic() + 300
        while kills < KILLS and not done.is_set() and time.monotonic() < deadline:
            if in_flight(client) == 0:
                time.sleep(0.01)
                continue
            stack.services["planner"].kill()
            kills += 1
            stack.services["planner"] = stack.service("planner")
            stack.services["planner"].start()
            time.sleep(0.3)

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    for n in range(ACTIVATIONS):
        ledger.ask(channels[n % CHANNELS], f"question {n}")
        time.sleep(0.01)
    settled = ledger.settle(timeout_s=240)
    done.set()
    thread.join(timeout=30)

    assert kills >= min(KILLS, 3), f"only {kills} kills happened"
    assert settled.exactly_once, settled
    print(f"planner kills: {kills}; {settled}")
