"""`/imagine` and `/replay`: slash commands whose answer comes from the planners, through the whole system."""

from __future__ import annotations

import urllib.request

import pytest
import redis

from switchboard.core import keys
from switchboard.emulator.client import EmulatorClient, EmulatorRequestError
from tests.conftest import wait_until
from tests.e2e.conftest import IMAGE_API_KEY
from tests.e2e.test_commands import answer
from tests.e2e.test_walking_skeleton import bot_messages_replying_to, wait_for_posted_reply
from tests.support.fake_images_api import FakeImagesApi

COMMAND_TIMEOUT = 60


def final_answer(emulator: EmulatorClient, interaction_id: str) -> dict:
    """The message that replaced the command's "thinking…" response."""
    def settled() -> dict | None:
        view = emulator.interaction(interaction_id)
        done = [m for m in [view["original"], *view["followups"]] if m and m.get("content")]
        return done[-1] if done else None

    return wait_until(settled, COMMAND_TIMEOUT, "the command's answer")


def download(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read()


def test_imagine_answers_with_the_generated_image(emulator: EmulatorClient, images_api: FakeImagesApi) -> None:
    channel = emulator.create_channel("studio")["id"]
    interaction = emulator.invoke_command("imagine", options={"prompt": "a red fox in the snow"}, channel_id=channel)
    message = final_answer(emulator, interaction)
    assert emulator.interaction(interaction)["answered_in_time"]  # deferred within 3 s
    assert message["content"].startswith("🎨 **a red fox in the snow**")
    [image] = message["attachments"]
    drawn = download(image["url"])
    assert drawn.startswith(b"\x89PNG") and drawn in images_api.served
    request = next(r for r in reversed(images_api.requests) if r.body.get("prompt") == "a red fox in the snow")
    assert request.headers["authorization"] == f"Bearer {IMAGE_API_KEY}" and request.body["size"] == "512x512"


def test_imagine_says_so_when_the_provider_is_down(emulator: EmulatorClient, images_api: FakeImagesApi) -> None:
    images_api.fail_next(503)
    interaction = emulator.invoke_command("imagine", options={"prompt": "a lighthouse"})
    message = final_answer(emulator, interaction)
    assert "model is unavailable" in message["content"] and "`model_unavailable`" in message["content"]
    assert message["attachments"] == []


def test_replay_runs_an_activation_again_for_operators_only(emulator: EmulatorClient, store: redis.Redis) -> None:
    channel = emulator.create_channel("replayed")["id"]
    asked = emulator.inject_message("what is a haiku?", channel_id=channel, author="alice", mention_bot=True)
    wait_for_posted_reply(store, emulator, asked["id"])

    with pytest.raises(EmulatorRequestError, match="lacks the permissions"):  # Discord hides it from non-admins
        emulator.invoke_command("replay", options={"activation": asked["id"]}, user="bob", channel_id=channel)

    link = f"https://discord.com/channels/1/{channel}/{asked['id']}"
    interaction = emulator.invoke_command("replay", options={"activation": link}, channel_id=channel)
    message = final_answer(emulator, interaction)
    assert message["content"].startswith(f"🔁 Replayed `{asked['id']}` live")
    assert message["flags"] & 64  # ephemeral: only the operator sees it
    assert store.exists(keys.record(f"replay-{interaction}"))
    assert len(bot_messages_replying_to(emulator, asked["id"])) == 1  # nothing new in the channel


def test_replay_of_an_unknown_activation_is_a_clear_error(emulator: EmulatorClient) -> None:
    unknown = answer(emulator, emulator.invoke_command("replay", options={"activation": "123456"}))
    assert unknown["ephemeral"] and "no record of activation 123456" in unknown["text"]
