"""Slash commands and the context menu, invoked through the emulator as a user would."""

from __future__ import annotations

import pytest
import redis

from switchboard.core import keys
from switchboard.core.config import ChannelMode, ConfigPatch
from switchboard.emulator.client import EmulatorClient, EmulatorRequestError
from tests.conftest import wait_until
from tests.e2e.test_gateway_behaviour import barrier, seen_by_gateway
from tests.e2e.test_walking_skeleton import bot_messages_replying_to, wait_for_posted_reply

EPHEMERAL = 64


def answer(emulator: EmulatorClient, interaction_id: str) -> dict:
    """The interaction once its final text is in: `text`, `ephemeral`, `in_time`."""
    emulator.wait_for_interaction_response(interaction_id, timeout=10)

    def settled() -> dict | None:
        view = emulator.interaction(interaction_id)
        messages = [m for m in [view["original"], *view["followups"]] if m and m.get("content")]
        if not messages:
            return None
        return {"text": messages[-1]["content"], "ephemeral": bool(messages[-1].get("flags", 0) & EPHEMERAL),
                "in_time": view["answered_in_time"]}

    return wait_until(settled, 10, "the command's answer")


def test_commands_are_registered(emulator: EmulatorClient) -> None:
    names = {c["name"] for c in emulator.registered_commands()["global"]}
    assert {"silent", "forget", "callsystem", "persona", "status", "Show context window"} <= names


def test_silent_puts_the_channel_to_sleep_until_mentioned(emulator: EmulatorClient, store: redis.Redis) -> None:
    channel = emulator.create_channel("sleepy")["id"]
    store.set(keys.channel_config(channel),
              ConfigPatch(channel_mode=ChannelMode.ALLOW_LIST, channels=(channel,)).to_json())
    answered = answer(emulator, emulator.invoke_command("silent", options={"state": "on"}, channel_id=channel))
    assert answered["in_time"] and answered["text"].startswith("🔕") and not answered["ephemeral"]
    ignored = emulator.inject_message("chatting among ourselves", channel_id=channel, author="bob")
    barrier(emulator, store, channel)  # a mention still wakes it
    assert bot_messages_replying_to(emulator, ignored["id"]) == []
    answer(emulator, emulator.invoke_command("silent", options={"state": "off"}, channel_id=channel))
    woken = emulator.inject_message("and now?", channel_id=channel, author="bob")
    assert wait_for_posted_reply(store, emulator, woken["id"])["content"]


def test_admin_commands_need_permissions(emulator: EmulatorClient, store: redis.Redis) -> None:
    channel = emulator.create_channel("guarded")["id"]
    with pytest.raises(EmulatorRequestError, match="lacks the permissions"):  # Discord hides them from members
        emulator.invoke_command("callsystem", subcommand="set", user="bob", channel_id=channel,
                                options={"callsystem": "cs.switchboard.legacy"})
    assert store.get(keys.channel_config(channel)) is None


def test_callsystem_list_show_and_set(emulator: EmulatorClient, store: redis.Redis) -> None:
    channel = emulator.create_channel("switching")["id"]
    listed = answer(emulator, emulator.invoke_command("callsystem", subcommand="list", channel_id=channel))
    assert "cs.switchboard.legacy@1.1.0" in listed["text"] and listed["ephemeral"]
    refused = answer(emulator, emulator.invoke_command("callsystem", subcommand="set", channel_id=channel,
                                                       options={"callsystem": "cs.nope.missing"}))
    assert refused["ephemeral"] and "no planner can run" in refused["text"]
    done = answer(emulator, emulator.invoke_command("callsystem", subcommand="set", channel_id=channel,
                                                    options={"callsystem": "cs.switchboard.legacy@1.1.0"}))
    assert done["text"].startswith("✅")
    shown = answer(emulator, emulator.invoke_command("callsystem", subcommand="show", channel_id=channel))
    assert "cs.switchboard.legacy@1.1.0" in shown["text"]


def test_persona_create_and_set_applies_to_the_next_message(emulator: EmulatorClient, store: redis.Redis) -> None:
    channel = emulator.create_channel("roleplay")["id"]
    earlier = emulator.inject_message("remember this", channel_id=channel, author="bob")
    wait_until(lambda: seen_by_gateway(store, channel, earlier["id"]), 10, "the gateway to see the message")
    created = answer(emulator, emulator.invoke_command("persona", subcommand="create", channel_id=channel, options={
        "name": "pirate", "instructions": "You are a pirate. Answer in pirate speak. It is {time}."}))
    assert created["ephemeral"]
    switched = answer(emulator, emulator.invoke_command("persona", subcommand="set", channel_id=channel,
                                                        options={"name": "pirate"}))
    assert "cleared" in switched["text"]
    assert store.llen(keys.history(channel)) == 0
    asked = emulator.inject_message("ahoy?", channel_id=channel, author="bob", mention_bot=True)
    wait_for_posted_reply(store, emulator, asked["id"])
    assert '"persona":"pirate"' in store.get(keys.record(asked["id"]))


def test_forget_clears_the_channel_history(emulator: EmulatorClient, store: redis.Redis) -> None:
    channel = emulator.create_channel("forgetful")["id"]
    said = emulator.inject_message("a secret", channel_id=channel, author="alice")
    wait_until(lambda: seen_by_gateway(store, channel, said["id"]), 10, "the gateway to see the message")
    assert answer(emulator, emulator.invoke_command("forget", channel_id=channel))["text"].startswith("🧹")
    assert store.llen(keys.history(channel)) == 0


def test_status_reports_queues(emulator: EmulatorClient) -> None:
    status = answer(emulator, emulator.invoke_command("status"))
    assert status["ephemeral"] and "sb:activations" in status["text"] and "sb.inference" in status["text"]


def test_show_context_window_of_an_answer(emulator: EmulatorClient, store: redis.Redis) -> None:
    channel = emulator.create_channel("context")["id"]
    asked = emulator.inject_message("what is the context?", channel_id=channel, author="alice", mention_bot=True)
    reply = wait_for_posted_reply(store, emulator, asked["id"])
    shown = answer(emulator, emulator.invoke_command("Show context window", command_type=3, target_id=reply["id"],
                                                     channel_id=channel))
    assert shown["ephemeral"]
    assert "cs.switchboard.legacy@1.1.0" in shown["text"] and "what is the context?" in shown["text"]
    unknown = answer(emulator, emulator.invoke_command("Show context window", command_type=3,
                                                       target_id=asked["id"], channel_id=channel))
    assert "no record" in unknown["text"]
    barrier(emulator, store, channel)
    assert len(bot_messages_replying_to(emulator, asked["id"])) == 1
