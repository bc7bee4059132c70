"""Legacy with an image attachment, through the whole system: the vision role (EfficientNet-Lite0 on Ray
Serve) describes the image, and the model's prompt says what it shows."""

from __future__ import annotations

from pathlib import Path

import redis

from switchboard.core import keys
from switchboard.core.wire import StepResult, VisionResult
from switchboard.emulator.client import EmulatorClient
from tests.e2e.test_attachments import file
from tests.e2e.test_walking_skeleton import wait_for_posted_reply
from tests.support.fake_chat_api import FakeChatApi

IMAGES = Path(__file__).parents[1] / "fixtures" / "images"


def test_the_prompt_says_what_an_attached_image_shows(chat_emulator: EmulatorClient, chat_store: redis.Redis,
                                                     chat_api: FakeChatApi) -> None:
    emulator, store = chat_emulator, chat_store
    chat_api.script(text="That is a cat.")
    photo = (IMAGES / "chelsea.png").read_bytes()  # a tabby cat
    asked = emulator.inject_message("what is in this picture?", channel_id="general", author="alice",
                                    mention_bot=True, attachments=[
                                        file("chelsea.png", photo, "image/png", width=451, height=300)])

    reply = wait_for_posted_reply(store, emulator, asked["id"])
    assert reply["content"] == "That is a cat."
    step = StepResult.from_json(store.hget(keys.journal(asked["id"]), "vision:0"))
    assert step.error is None, step.error
    seen = step.output
    assert isinstance(seen, VisionResult) and seen.labels  # ImageNet labels, best first
    assert any("cat" in label.label for label in seen.labels), seen.labels
    prompt = chat_api.requests[-1].body["messages"][-1]["content"]
    assert f"[image chelsea.png, 451×300: it shows {seen.describe()}]" in prompt
    assert seen.labels[0].label in prompt
