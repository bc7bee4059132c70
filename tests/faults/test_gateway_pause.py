"""The gateway frozen while the answers finish: once it runs again it posts every one, once (fault 6: 100
answers finishing during a 30 s pause under the full suite).

The planner is frozen (SIGSTOP) while the gateway queues every activation, then the gateway is frozen and
the planner thawed: all the answers finish while the gateway misses the wake-ups and streamed deltas the
planners publish, and the replies wait in `sb:replies` for its consumer group. One question per channel:
a channel's next answer starts only once the previous one is posted (channel turns), which needs the gateway.
"""

from __future__ import annotations

import os
import signal
import time

import redis

from switchboard.core import keys
from switchboard.core.keys import Stream
from switchboard.devstack.stack import Stack
from switchboard.emulator.client import EmulatorClient
from tests.conftest import wait_until
from tests.faults.conftest import FULL, scaled
from tests.support.ledger import Ledger

ANSWERS = scaled(100, minimum=20)
PAUSE_S = 30 if FULL else 5


def test_answers_finished_while_the_gateway_is_frozen_are_posted_once_after(
        stack: Stack, emulator: EmulatorClient) -> None:
    client = redis.Redis.from_url(stack.redis_url, decode_responses=True)
    channels = [emulator.create_channel(f"pause-{n}")["id"] for n in range(ANSWERS)]
    ledger = Ledger(emulator)
    gateway, planner = stack.services["gateway"].pid, stack.services["planner"].pid
    assert gateway is not None and planner is not None
    replies_before = client.xlen(Stream.REPLIES)
    os.kill(planner, signal.SIGSTOP)
    try:
        for n in range(ANSWERS):
            ledger.ask(channels[n], f"while frozen {n}")
        wait_until(lambda: all(client.exists(keys.accepted(m)) for m in ledger.asked), 60, "every activation queued")
        os.kill(gateway, signal.SIGSTOP)
    finally:
        os.kill(planner, signal.SIGCONT)
    try:
        frozen_until = time.monotonic() + PAUSE_S
        wait_until(lambda: client.xlen(Stream.REPLIES) - replies_before >= ANSWERS, PAUSE_S + 60,
                   "the planners to finish every answer while the gateway is frozen")
        finished_frozen = time.monotonic() < frozen_until
        time.sleep(max(0.0, frozen_until - time.monotonic()))
        posted_while_frozen = len(ledger.answers())
    finally:
        os.kill(gateway, signal.SIGCONT)

    settled = ledger.settle(timeout_s=120)
    assert finished_frozen, "the answers took longer than the pause: the test proved less than it says"
    assert posted_while_frozen == 0
    assert settled.exactly_once, settled
