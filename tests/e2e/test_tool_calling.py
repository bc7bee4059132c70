"""The integrations callsystem through the whole system: a scripted model (the fake OpenAI-compatible API)
asks for tools, the tools worker and the image role run them, the answer is posted in the channel."""

from __future__ import annotations

import json

import pytest
import redis

from switchboard.core import keys
from switchboard.core.config import ChannelMode, ConfigPatch
from switchboard.core.wire import ActivationRecord
from switchboard.emulator.client import EmulatorClient
from tests.conftest import wait_until
from tests.e2e.conftest import SLEEP_TTL_S
from tests.e2e.test_gateway_behaviour import configure_channel
from tests.e2e.test_walking_skeleton import bot_messages_replying_to, wait_for_posted_reply
from tests.support.fake_chat_api import FakeChatApi

INTEGRATIONS = "cs.switchboard.integrations@latest"


@pytest.fixture(scope="module")
def emulator(chat_emulator: EmulatorClient) -> EmulatorClient:
    return chat_emulator


@pytest.fixture(scope="module")
def store(chat_store: redis.Redis) -> redis.Redis:
    return chat_store


def tool_messages(chat_api: FakeChatApi) -> list[dict]:
    return [m for r in chat_api.requests for m in r.body.get("messages", ()) if m.get("role") == "tool"]


def test_two_tools_in_one_round_then_the_answer_is_posted(emulator: EmulatorClient, store: redis.Redis,
                                                          chat_api: FakeChatApi) -> None:
    channel = emulator.create_channel("tools")["id"]
    configure_channel(store, channel, ConfigPatch(callsystem=INTEGRATIONS, allowed_tools=("calculator", "imagine")))
    chat_api.script(tool_calls=[{"name": "calculator", "arguments": {"expression": "6*7"}},
                                {"name": "imagine", "arguments": {"prompt": "a red fox in the snow"}}])
    chat_api.script(text="6*7 is 42, and here is your fox.")
    asked = emulator.inject_message("what is 6*7? and draw me a fox", channel_id=channel, author="alice",
                                    mention_bot=True)

    reply = wait_for_posted_reply(store, emulator, asked["id"])
    assert reply["content"] == "6*7 is 42, and here is your fox."
    pictures = wait_until(lambda: [a for m in emulator.messages(channel_id=channel, author="bot")
                                   for a in m["attachments"]], 30, "the picture")
    assert len(pictures) == 1 and pictures[0]["filename"] == "image-1.png"  # the fox, drawn by the image role
    record = ActivationRecord.from_json(store.get(keys.record(asked["id"])))
    assert record.callsystem == "cs.switchboard.integrations" and record.notes == ()
    steps = {step.step: step for step in record.steps}
    assert {"infer:0", "tool:calculator:0", "image:0", "infer:1"} <= steps.keys()
    assert steps["tool:calculator:0"].error is None and steps["image:0"].error is None
    offered = {tool["function"]["name"] for tool in chat_api.requests[-2].body["tools"]}
    assert offered == {"calculator", "imagine"}
    results = [json.loads(m["content"]) for m in tool_messages(chat_api)[-2:]]
    assert results[0] == {"expression": "6*7", "value": 42}
    assert results[1]["images"] == 1 and results[1]["note"] == "attached to the reply"


def test_after_sleep_only_a_mention_gets_an_answer(emulator: EmulatorClient, store: redis.Redis,
                                                   chat_api: FakeChatApi) -> None:
    channel = emulator.create_channel("lounge")["id"]
    configure_channel(store, channel, ConfigPatch(callsystem=INTEGRATIONS, allowed_tools=("sleep",),
                                                  channel_mode=ChannelMode.ALLOW_LIST, channels=(channel,)))
    chat_api.script(tool_calls=[{"name": "sleep", "arguments": {}}])
    chat_api.script(text="Okay, I'll stay quiet until someone mentions me.")
    hush = emulator.inject_message("please be quiet for a while", channel_id=channel, author="alice")  # open channel
    assert wait_for_posted_reply(store, emulator, hush["id"])["content"].startswith("Okay, I'll stay quiet")
    assert 0 < store.ttl(keys.asleep(channel)) <= SLEEP_TTL_S

    ambient = emulator.inject_message("anyone around?", channel_id=channel, author="bob")
    mention = emulator.inject_message("wake up please", channel_id=channel, author="bob", mention_bot=True)
    assert wait_for_posted_reply(store, emulator, mention["id"])["content"]  # decided after the ambient one
    assert bot_messages_replying_to(emulator, ambient["id"]) == []
    assert not store.exists(keys.accepted(ambient["id"]))
    assert not store.exists(keys.asleep(channel))  # the mention woke the channel

    awake = emulator.inject_message("anyone around now?", channel_id=channel, author="bob")
    assert wait_for_posted_reply(store, emulator, awake["id"])["content"]  # open again, as before the sleep
