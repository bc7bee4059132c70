"""An agent group of three personas on the local model, set up and probed as an operator would."""

from __future__ import annotations

import asyncio

import redis
import redis.asyncio as aioredis

from switchboard.core import keys
from switchboard.core.config import ConfigPatch
from switchboard.core.lanes import CHAT_ROLE
from switchboard.core.wire import ActivationRecord, LaneStats, Outcome
from switchboard.emulator.client import EmulatorClient
from switchboard.emulator.state import GUILD_ID
from switchboard.planner.callsystems.turn_plan import Budgets
from switchboard.planner.probe import probe
from tests.conftest import wait_until
from tests.e2e.test_commands import answer
from tests.e2e.test_walking_skeleton import REPLY_TIMEOUT, bot_messages_replying_to

PERSONAS = {
    "ada": "You are Ada, a cheerful mathematician. Answer in one or two sentences.",
    "bob": "You are Bob, an old sailor. Answer in one or two sentences.",
    "cy": "You are Cy, a poet. Answer in one or two sentences.",
}


def make_group(emulator: EmulatorClient, channel: str) -> None:
    for name, instructions in PERSONAS.items():
        answer(emulator, emulator.invoke_command("persona", subcommand="create", channel_id=channel,
                                                 options={"name": name, "instructions": instructions}))
    made = answer(emulator, emulator.invoke_command("persona", subcommand="group", channel_id=channel,
                                                    options={"names": "ada bob cy"}))
    assert made["text"].startswith("👥"), made


def test_three_personas_each_answer_once_in_the_channel(emulator: EmulatorClient, store: redis.Redis) -> None:
    channel = emulator.create_channel("trio")["id"]
    make_group(emulator, channel)
    asked = emulator.inject_message("Hello everyone! What do you each like best?", channel_id=channel,
                                    author="alice", mention_bot=True)
    wait_until(lambda: store.exists(keys.posted(asked["id"])), REPLY_TIMEOUT, "the group's turn to end")
    answers = bot_messages_replying_to(emulator, asked["id"])
    speakers = sorted(message["content"].split("**")[1] for message in answers)
    assert speakers == ["ada", "bob", "cy"], [m["content"] for m in answers]
    assert sorted(m["nonce"] for m in answers) == [f"{asked['id']}.t{n}" for n in range(3)]

    named = emulator.inject_message("bob, tell me about the sea", channel_id=channel, author="alice",
                                    mention_bot=True)
    wait_until(lambda: store.exists(keys.posted(named["id"])), REPLY_TIMEOUT, "bob's answer")
    assert [m["content"].split("**")[1] for m in bot_messages_replying_to(emulator, named["id"])] == ["bob"]

    lane = LaneStats.from_json(store.hget(keys.LANES, CHAT_ROLE))  # what the next plans predict from
    assert (lane.lane, lane.local, lane.capacity) == ("local:chat", True, 1) and lane.samples >= 4


def test_chatter_the_next_persona_answers_the_last_one(emulator: EmulatorClient, store: redis.Redis) -> None:
    channel = emulator.create_channel("chatty")["id"]
    make_group(emulator, channel)
    patch = ConfigPatch.from_json(store.get(keys.channel_config(channel))).merged(ConfigPatch(group_chatter=1))
    store.set(keys.channel_config(channel), patch.to_json())
    asked = emulator.inject_message("ada, what is your favourite number?", channel_id=channel, author="alice",
                                    mention_bot=True)
    chatter = f"{asked['id']}.c1"
    wait_until(lambda: store.exists(keys.posted(chatter)), REPLY_TIMEOUT, "the chatter round")
    speakers = [m["content"].split("**")[1] for m in bot_messages_replying_to(emulator, asked["id"])]
    assert speakers == ["ada", "bob"]  # ada answered alice; bob, next in the group, answered ada
    record = ActivationRecord.from_json(store.get(keys.record(chatter)))
    assert record.outcome == Outcome.REPLIED and record.activation.author_name == "ada"
    assert not store.exists(keys.posted(f"{chatter}.c2"))  # one round only


def test_the_probe_reports_every_persona_within_the_budgets(emulator: EmulatorClient, stack) -> None:
    channel = emulator.create_channel("probed")["id"]
    make_group(emulator, channel)
    before = len(emulator.messages(author="bot", channel_id=channel))

    async def run() -> object:
        client = aioredis.Redis.from_url(stack.redis_url, decode_responses=True)
        try:
            return await probe(client, str(GUILD_ID), channel, "Hi all, how are you today?", budgets=Budgets(),
                               timeout_s=REPLY_TIMEOUT, post=False)
        finally:
            await client.aclose()

    report = asyncio.run(run())
    assert report.bucket == "ok", report.summary()
    assert sorted(report.answered) == ["ada", "bob", "cy"]
    assert report.first_reply_s <= 10 and report.all_replies_s <= 30
    assert len(emulator.messages(author="bot", channel_id=channel)) == before  # a probe posts nothing
