"""The whole system as processes with the instant echo model, for fault injection; and the test scale.

`SWITCHBOARD_FAULT_SCALE=full` (what `./dev reliability` sets) runs each fault test at the counts the
reliability promise states; unset, a tenth of them (at least a few), which is what CI runs on every change.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from switchboard.devstack.stack import Stack, StackConfig
from switchboard.emulator.client import EmulatorClient
from tests.support.backend import FAST_TAKEOVER

FULL = os.environ.get("SWITCHBOARD_FAULT_SCALE") == "full"
UNLIMITED = json.dumps({"capacity": 100_000, "per_seconds": 1})
# Short limits, so a task lost with its worker comes back in seconds (visibility = limit + margin = 15 s).
# A task no worker started in 20 s (past kombu's restore of a dead worker's tasks) is sent again.
STEP_TIMEOUT_S = 60
STEP_RESEND_AFTER_S = 20
LIMITS = {"SWITCHBOARD_TASK_TIME_LIMIT_S": "10", "SWITCHBOARD_VISIBILITY_MARGIN_S": "5",
          "SWITCHBOARD_STEP_TIMEOUT_S": str(STEP_TIMEOUT_S),
          "SWITCHBOARD_STEP_RESEND_AFTER_S": str(STEP_RESEND_AFTER_S)}
# The inference service keeps each model call's own timeout under the task's time limit.
INFERENCE_LIMITS = {f"SWITCHBOARD_{role}_TIMEOUT_S": "4" for role in ("CHAT", "VISION", "EMBED", "IMAGE")}
GRACE_S = STEP_TIMEOUT_S + 30  # the chart's terminationGracePeriodSeconds: the longer of limit and timeout, + 30 s


def scaled(full: int, minimum: int = 3) -> int:
    """`full` under the full suite, else a tenth of it (at least `minimum`)."""
    return full if FULL else max(minimum, full // 10)


def fault_stack(run_dir: Path, redis_url: str | None = None, short_limits: bool = True) -> StackConfig:
    """Every service but admin, the echo model, no rate limits, fast planner takeover; with `short_limits`, the
    task limits above (a stack on a Redis of its own keeps the defaults)."""
    return StackConfig(
        run_dir=run_dir, chat_backend="echo", redis_url=redis_url, env=LIMITS if short_limits else {},
        services=("planner", "tools", "inference", "gateway"),
        service_env={"gateway": {"SWITCHBOARD_USER_RATE": UNLIMITED, "SWITCHBOARD_GUILD_RATE": UNLIMITED},
                     "planner": FAST_TAKEOVER, **({"inference": INFERENCE_LIMITS} if short_limits else {})})


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    running = Stack(fault_stack(Path(tmp_path_factory.mktemp("faults"))))
    running.start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def emulator(stack: Stack) -> EmulatorClient:
    assert stack.emulator_url is not None
    return EmulatorClient(stack.emulator_url)
