"""The gateway SIGKILLed right after it queued activations, then the same Discord events delivered again three
times to the gateway that replaces it: every message is answered exactly once (fault 4).

Discord delivers gateway events at least once (a RESUME replays, a new session may see an event again); the
emulator's `redeliver` sends a message's MESSAGE_CREATE again. The gateway queues an activation once (`SET NX`
on its id) and the reply is posted once (posted-once key, and a nonce Discord deduplicates on).
"""

from __future__ import annotations

import time
import urllib.request

import redis

from switchboard.core import keys
from switchboard.devstack.stack import Stack
from switchboard.emulator.client import EmulatorClient
from tests.conftest import wait_until
from tests.faults.conftest import scaled
from tests.support.ledger import Ledger

ACTIVATIONS = scaled(50, minimum=10)
REDELIVERIES = 3


def test_a_killed_gateway_and_events_delivered_again_give_one_answer_each(
        stack: Stack, emulator: EmulatorClient) -> None:
    client = redis.Redis.from_url(stack.redis_url, decode_responses=True)
    channels = [emulator.create_channel(f"gateway-kills-{n}")["id"] for n in range(5)]
    ledger = Ledger(emulator)
    for n in range(ACTIVATIONS):
        ledger.ask(channels[n % len(channels)], f"asked before the crash {n}")
    wait_until(lambda: all(client.exists(keys.accepted(m)) for m in ledger.asked), 60, "every activation queued")
    stack.services["gateway"].kill()
    stack.services["gateway"] = stack.service("gateway")
    stack.services["gateway"].start()
    stack.wait_ready(time.monotonic() + 60)

    for _ in range(REDELIVERIES):
        for message_id in ledger.asked:
            emulator.redeliver(message_id)

    settled = ledger.settle(timeout_s=120, quiet_s=5)
    print(f"gateway killed after queueing {ACTIVATIONS}, each event delivered {REDELIVERIES} more times: {settled}")
    assert settled.exactly_once, settled
    # The redeliveries really reached the new gateway, which saw each as a duplicate.
    scraped = urllib.request.urlopen(stack.metrics_url("gateway"), timeout=5).read().decode()
    duplicates = sum(float(line.rsplit(" ", 1)[1]) for line in scraped.splitlines()
                     if line.startswith('switchboard_gateway_messages_total{decision="duplicate"'))
    assert duplicates >= ACTIVATIONS * REDELIVERIES
