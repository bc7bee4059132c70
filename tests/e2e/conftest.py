"""The whole system as processes: Redis, the Discord emulator, planner, tools, inference (real Ray and
SmolLM2 on CPU) and the gateway, exporting traces to an in-test OTLP receiver. Started once per session."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from switchboard.devstack.stack import Stack, StackConfig
from switchboard.emulator.client import EmulatorClient
from tests.support.otlp import OtlpReceiver


@pytest.fixture(scope="session")
def otlp() -> Iterator[OtlpReceiver]:
    receiver = OtlpReceiver()
    receiver.start()
    yield receiver
    receiver.stop()


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory, otlp: OtlpReceiver) -> Iterator[Stack]:
    config = StackConfig(
        run_dir=Path(tmp_path_factory.mktemp("stack")),
        env={"OTEL_EXPORTER_OTLP_ENDPOINT": otlp.endpoint, "OTEL_BSP_SCHEDULE_DELAY": "100"},
        service_env={"gateway": {
            # Edits every 0.2 s, so a streamed answer of a second or two shows intermediate edits.
            "SWITCHBOARD_EDIT_INTERVAL_S": "0.2",
            # Tests share users; the rate-limit test sets its own limit on its own channel.
            "SWITCHBOARD_USER_RATE": json.dumps({"capacity": 1000, "per_seconds": 1}),
        }},
    )
    running = Stack(config)
    try:
        running.start(timeout=240)
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def emulator(stack: Stack) -> EmulatorClient:
    assert stack.emulator_url is not None
    return EmulatorClient(stack.emulator_url)


@pytest.fixture(scope="session")
def store(stack: Stack) -> redis.Redis:
    return redis.Redis.from_url(stack.redis_url, decode_responses=True)



@pytest.fixture(scope="session")
def store_bytes(stack: Stack) -> redis.Redis:
    """The same Redis, for binary values (blobs)."""
    return redis.Redis.from_url(stack.redis_url)
