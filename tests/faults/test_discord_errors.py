"""Discord answering 429 or 500 to a fifth of the bot's posts: every answer is still posted exactly once
(fault 11). A 429 is waited out as Discord asks; a 500 is tried again by the gateway with the same nonce.

The emulator's faults hit the next matching requests, so they are armed a few at a time as the questions go
out: two failures (one 429, one 500) for every ten answers, spread over the run.
"""

from __future__ import annotations

from switchboard.devstack.stack import Stack
from switchboard.emulator.client import EmulatorClient
from tests.faults.conftest import scaled
from tests.support.ledger import Ledger

ACTIVATIONS = scaled(500, minimum=50)
POSTS = r"/channels/\d+/messages$"


def test_a_fifth_of_posts_failing_still_posts_every_answer_once(stack: Stack, emulator: EmulatorClient) -> None:
    channels = [emulator.create_channel(f"discord-errors-{n}")["id"] for n in range(10)]
    ledger = Ledger(emulator)
    armed = 0
    try:
        for n in range(ACTIVATIONS):
            if n % 10 == 0:
                emulator.add_fault(429, POSTS, method="POST", count=1, retry_after=0.2)
                emulator.add_fault(500, POSTS, method="POST", count=1)
                armed += 2
            ledger.ask(channels[n % len(channels)], f"despite errors {n}")
        settled = ledger.settle(timeout_s=240)
        served = emulator.faults()["injected"]
    finally:
        emulator.clear_faults()

    print(f"{served} of {armed} injected failures served; {settled}")
    assert settled.exactly_once, settled
    assert served >= armed * 0.9  # the failures really met the posts
