"""The whole system as processes: Redis, the Discord emulator, planner, tools, inference (real Ray, SmolLM2
and EfficientNet-Lite0 on CPU) and the gateway, exporting traces to an in-test OTLP receiver. Started once
per session.

A second stack (`chat_stack`, started by the first test that asks for it) answers with the local fake of an
OpenAI-compatible API instead of SmolLM2, so a test scripts what the model says, tool calls included, and
reads every prompt it was sent.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from switchboard.devstack.otlp_receiver import OtlpReceiver
from switchboard.devstack.stack import Stack, StackConfig
from switchboard.emulator.client import EmulatorClient
from tests.support.fake_chat_api import MODEL, FakeChatApi
from tests.support.fake_images_api import FakeImagesApi

IMAGE_API_KEY = "sk-e2e-image-key"
CHAT_API_KEY = "sk-e2e-chat-key"
SLEEP_TTL_S = 3600
QUEUE_NOTICE_OVER = 8  # more activations waiting than this: a newcomer is told its place in line


@pytest.fixture(scope="session")
def otlp() -> Iterator[OtlpReceiver]:
    receiver = OtlpReceiver()
    receiver.start()
    yield receiver
    receiver.stop()


@pytest.fixture(scope="session")
def images_api() -> Iterator[FakeImagesApi]:
    """The cloud image provider (OpenAI Images API), faked locally."""
    with FakeImagesApi() as api:
        yield api


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory, otlp: OtlpReceiver, images_api: FakeImagesApi) -> Iterator[Stack]:
    config = StackConfig(
        run_dir=Path(tmp_path_factory.mktemp("stack")),
        env={"OTEL_EXPORTER_OTLP_ENDPOINT": otlp.endpoint, "OTEL_BSP_SCHEDULE_DELAY": "100"},
        service_env={"gateway": {
            # Edits every 0.2 s, so a streamed answer of a second or two shows intermediate edits.
            "SWITCHBOARD_EDIT_INTERVAL_S": "0.2",
            # Tests share users; the rate-limit test sets its own limit on its own channel.
            "SWITCHBOARD_USER_RATE": json.dumps({"capacity": 1000, "per_seconds": 1}),
            "SWITCHBOARD_QUEUE_NOTICE_OVER": str(QUEUE_NOTICE_OVER),
        }, "inference": {
            "SWITCHBOARD_IMAGE_BACKEND": "openai", "SWITCHBOARD_IMAGE_BASE_URL": images_api.url,
            "SWITCHBOARD_IMAGE_API_KEY": IMAGE_API_KEY,
            # Image recognition (EfficientNet-Lite0 on Ray, beside SmolLM2): on with the llama chat model by
            # default; named here because the e2e tests of image attachments depend on it.
            "SWITCHBOARD_VISION_BACKEND": "efficientnet",
        }},
    )
    yield from running(config)


@pytest.fixture(scope="session")
def chat_api() -> Iterator[FakeChatApi]:
    with FakeChatApi() as api:
        yield api


@pytest.fixture(scope="session")
def chat_stack(tmp_path_factory: pytest.TempPathFactory, chat_api: FakeChatApi,
               images_api: FakeImagesApi) -> Iterator[Stack]:
    """Every service as a process, the chat role on `chat_api`; the tools worker also enables `sleep`."""
    config = StackConfig(run_dir=Path(tmp_path_factory.mktemp("chat-stack")), service_env={
        "gateway": {"SWITCHBOARD_USER_RATE": json.dumps({"capacity": 1000, "per_seconds": 1})},
        "tools": {"SWITCHBOARD_ENABLED_TOOLS": json.dumps(["calculator", "clock", "sleep"]),
                  "SWITCHBOARD_SLEEP_TTL_S": str(SLEEP_TTL_S)},
        "inference": {
            "SWITCHBOARD_CHAT_BACKEND": "openai", "SWITCHBOARD_CHAT_BASE_URL": chat_api.url,
            "SWITCHBOARD_CHAT_MODEL_NAME": MODEL, "SWITCHBOARD_CHAT_API_KEY": CHAT_API_KEY,
            "SWITCHBOARD_IMAGE_BACKEND": "openai", "SWITCHBOARD_IMAGE_BASE_URL": images_api.url,
            "SWITCHBOARD_IMAGE_API_KEY": IMAGE_API_KEY, "SWITCHBOARD_VISION_BACKEND": "efficientnet",
        },
    })
    yield from running(config)


def running(config: StackConfig) -> Iterator[Stack]:
    stack = Stack(config)
    try:
        stack.start(timeout=240)
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="session")
def chat_emulator(chat_stack: Stack) -> EmulatorClient:
    assert chat_stack.emulator_url is not None
    return EmulatorClient(chat_stack.emulator_url)


@pytest.fixture(scope="session")
def chat_store(chat_stack: Stack) -> redis.Redis:
    return redis.Redis.from_url(chat_stack.redis_url, decode_responses=True)


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
