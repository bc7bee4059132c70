"""Whole workers SIGKILLed under load, tools and inference in turn, and started again as Kubernetes would:
every message gets exactly one answer (fault 2: 3 kills of each in 200 activations under the full suite).

A task a dead worker held is unacknowledged; kombu gives it back to the queue once it has been invisible for
the visibility timeout, and the restarted worker runs it (the journal makes a rerun of a step that had
finished a no-op). Kombu has one window where a kill loses a task outright: after `BRPOP` took it off the
queue and before it was written to the unacknowledged set. The planner covers that case: a step no worker
has started after `STEP_RESEND_AFTER_S` is sent again (a copy of a task that did arrive is skipped). So every
message gets an answer, not an error notice, and the last answer comes within the resend window (plus a
restart) of the last kill.
"""

from __future__ import annotations

import time

import redis

from switchboard.devstack.stack import Stack
from switchboard.emulator.client import EmulatorClient
from tests.faults.conftest import STEP_RESEND_AFTER_S, scaled
from tests.support.ledger import Ledger

ACTIVATIONS = scaled(200, minimum=30)
KILLS = 3  # of each worker
RECOVERY_MARGIN_S = 30  # restart (Ray and the model for inference) and the rest of the queue


def test_workers_killed_under_load_lose_and_double_nothing(stack: Stack, emulator: EmulatorClient) -> None:
    client = redis.Redis.from_url(stack.redis_url, decode_responses=True)
    channels = [emulator.create_channel(f"worker-kills-{n}")["id"] for n in range(10)]
    ledger = Ledger(emulator)
    victims = [service for _ in range(KILLS) for service in ("tools", "inference")]
    every = max(1, ACTIVATIONS // (len(victims) + 1))
    last_kill = time.monotonic()
    for n in range(ACTIVATIONS):
        ledger.ask(channels[n % len(channels)], f"through worker kills {n}")
        if victims and (n + 1) % every == 0:
            service = victims.pop(0)
            stack.services[service].kill()
            last_kill = time.monotonic()
            stack.services[service] = stack.service(service)
            stack.services[service].start()
        time.sleep(0.02)
    assert not victims, "the load ended before every kill"

    settled = ledger.settle(timeout_s=STEP_RESEND_AFTER_S + RECOVERY_MARGIN_S + 120)
    recovered_in = time.monotonic() - last_kill
    print(f"worker kills: {KILLS} tools + {KILLS} inference; last answer {recovered_in:.1f} s after the last kill; "
          f"{settled}")
    assert settled.exactly_once, settled
    assert recovered_in < STEP_RESEND_AFTER_S + RECOVERY_MARGIN_S, recovered_in
    assert not settled.error_notices, settled.error_notices  # a lost task is sent again: an answer, not an error
    assert client.llen("sb.tools") == 0 and client.llen("sb.inference") == 0
