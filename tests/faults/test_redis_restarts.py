"""Redis SIGKILLed and restarted under load: with the append-only file every message still gets exactly one
answer (fault 5: 3 restarts in 500 activations under the full suite). The same run on a Redis that only
snapshots (here: never) must lose answers: the guard that shows this test can fail.

Each run has its own Redis and stack; Redis comes back on the same port from its own files.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from switchboard.devstack.redis_server import RedisServer
from switchboard.devstack.stack import Stack
from switchboard.emulator.client import EmulatorClient
from tests.faults.conftest import fault_stack, scaled
from tests.support.ledger import Ledger, Settled

ACTIVATIONS = scaled(500, minimum=40)
RESTARTS = 3
DOWN_S = 1.0


class Restarted:
    def __init__(self, run_dir: Path, durable: bool) -> None:
        self.redis = RedisServer(run_dir / "redis", durable=durable)
        self.stack = Stack(fault_stack(run_dir, self.redis.url, short_limits=False))

    def __enter__(self) -> Restarted:
        self.redis.start()
        self.stack.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stack.stop()
        self.redis.stop()

    def run(self, activations: int, restarts: int, settle_s: float = 180) -> Settled:
        """Ask `activations` questions while Redis is killed and restarted `restarts` times; what came back."""
        assert self.stack.emulator_url is not None
        emulator = EmulatorClient(self.stack.emulator_url)
        channels = [emulator.create_channel(f"restarts-{n}")["id"] for n in range(10)]
        ledger = Ledger(emulator)
        every = max(1, activations // (restarts + 1))
        killer_done = threading.Event()

        def killer() -> None:
            for round_ in range(restarts):
                while len(ledger.asked) < every * (round_ + 1) and not killer_done.is_set():
                    time.sleep(0.01)
                self.redis.kill()
                time.sleep(DOWN_S)
                self.redis.start()
            killer_done.set()

        thread = threading.Thread(target=killer, daemon=True)
        thread.start()
        for n in range(activations):
            ledger.ask(channels[n % len(channels)], f"through restarts {n}")
            time.sleep(0.02)
        thread.join(timeout=60)
        return ledger.settle(timeout_s=settle_s)


def test_with_the_append_only_file_restarts_lose_and_double_nothing(tmp_path: Path) -> None:
    with Restarted(tmp_path, durable=True) as system:
        settled = system.run(ACTIVATIONS, RESTARTS)
    print(f"{RESTARTS} Redis restarts, append-only: {settled}")
    assert settled.exactly_once, settled


def test_without_it_the_same_restarts_lose_answers(tmp_path: Path) -> None:
    with Restarted(tmp_path, durable=False) as system:
        settled = system.run(scaled(100, minimum=20), 1, settle_s=30)  # what a durable Redis answers in far less
    print(f"1 Redis restart, no persistence: {settled}")
    assert not settled.exactly_once, "nothing was lost without persistence: the restart test proves nothing"
