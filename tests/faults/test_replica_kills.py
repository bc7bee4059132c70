"""The chat model's Ray Serve replica SIGKILLed again and again under load: Serve starts a new one, the bridge
asks again on it (inference is pure), and every message gets exactly one answer (fault 9: 5 kills in 200
activations under the full suite).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time

from switchboard.devstack.stack import Stack
from switchboard.emulator.client import EmulatorClient
from tests.conftest import wait_until
from tests.faults.conftest import scaled
from tests.support.ledger import Ledger

ACTIVATIONS = scaled(200, minimum=30)
KILLS = 5
REPLICA = "ServeReplica:chat"


def replicas() -> list[int]:
    found = subprocess.run(["pgrep", "-f", REPLICA], capture_output=True, text=True, check=False).stdout
    return [int(pid) for pid in found.split()]


def test_chat_replicas_killed_under_load_lose_and_double_nothing(stack: Stack, emulator: EmulatorClient) -> None:
    channels = [emulator.create_channel(f"replica-kills-{n}")["id"] for n in range(10)]
    ledger = Ledger(emulator)
    every = max(1, ACTIVATIONS // (KILLS + 1))
    killed: list[int] = []
    for n in range(ACTIVATIONS):
        ledger.ask(channels[n % len(channels)], f"through replica kills {n}")
        if len(killed) < KILLS and (n + 1) % every == 0:
            victims = wait_until(lambda: [pid for pid in replicas() if pid not in killed], 60, "a live chat replica")
            os.kill(victims[0], signal.SIGKILL)
            killed.append(victims[0])
        time.sleep(0.02)

    settled = ledger.settle(timeout_s=240)
    print(f"chat replica kills: {len(killed)}; {settled}")
    assert len(killed) == KILLS
    assert settled.exactly_once, settled
