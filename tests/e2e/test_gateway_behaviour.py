"""How the bot behaves in a server: runtime config, keywords, rate limits, long answers, failures."""

from __future__ import annotations

import json
import time
import urllib.request

import redis

from switchboard.core import keys
from switchboard.core.config import ChannelMode, ConfigPatch, DoubleTexting, RateLimit
from switchboard.core.keys import STREAM_FIELD, Stream
from switchboard.core.wire import Outcome, Reply
from switchboard.emulator.client import EmulatorClient
from tests.conftest import wait_until
from tests.e2e.test_walking_skeleton import bot_messages_replying_to, wait_for_posted_reply
from tests.support.fake_chat_api import FakeChatApi


def configure_channel(store: redis.Redis, channel_id: str, patch: ConfigPatch) -> None:
    """What `/config` commands do: write the channel's patch; the gateway reads it on the next message."""
    store.set(keys.channel_config(channel_id), patch.to_json())


def seen_by_gateway(store: redis.Redis, channel_id: str, message_id: str) -> bool:
    """The gateway records every message it sees in the channel history."""
    return any(f'"message_id":"{message_id}"' in entry for entry in store.lrange(keys.history(channel_id), 0, -1))


def barrier(emulator: EmulatorClient, store: redis.Redis, channel_id: str) -> None:
    """Send a mention and wait for its reply: every message before it has been decided."""
    ping = emulator.inject_message("ping", channel_id=channel_id, author="alice", mention_bot=True)
    wait_for_posted_reply(store, emulator, ping["id"])


def test_config_changes_apply_to_the_next_message(emulator: EmulatorClient, store: redis.Redis) -> None:
    channel = emulator.create_channel("open-chat")["id"]
    before = emulator.inject_message("anyone around?", channel_id=channel, author="bob")
    wait_until(lambda: seen_by_gateway(store, channel, before["id"]), 10, "the gateway to see the message")
    configure_channel(store, channel, ConfigPatch(channel_mode=ChannelMode.ALLOW_LIST, channels=(channel,)))
    opened = emulator.inject_message("anyone around now?", channel_id=channel, author="bob")
    assert wait_for_posted_reply(store, emulator, opened["id"])["content"]
    configure_channel(store, channel, ConfigPatch(channel_mode=ChannelMode.ALLOW_LIST, channels=(channel,),
                                                  silent=True))
    hushed = emulator.inject_message("still there?", channel_id=channel, author="bob")
    barrier(emulator, store, channel)
    assert bot_messages_replying_to(emulator, before["id"]) == []
    assert bot_messages_replying_to(emulator, hushed["id"]) == []


def test_keyword_trigger(emulator: EmulatorClient, store: redis.Redis) -> None:
    channel = emulator.create_channel("keywords")["id"]
    configure_channel(store, channel, ConfigPatch(keywords=("switchy",)))
    asked = emulator.inject_message("hey Switchy, what's up?", channel_id=channel, author="alice")
    assert wait_for_posted_reply(store, emulator, asked["id"])["content"]


def test_thread_inherits_its_parent_channel_config(emulator: EmulatorClient, store: redis.Redis) -> None:
    channel = emulator.create_channel("threaded")["id"]
    configure_channel(store, channel, ConfigPatch(channel_mode=ChannelMode.ALLOW_LIST, channels=(channel,)))
    thread = emulator.create_thread(channel, "a topic")["id"]
    asked = emulator.inject_message("a question in the thread", channel_id=thread, author="alice")
    assert wait_for_posted_reply(store, emulator, asked["id"])["channel_id"] == thread


def test_flood_from_one_user_gets_five_activations_and_one_notice(emulator: EmulatorClient,
                                                                  store: redis.Redis) -> None:
    channel = emulator.create_channel("flood")["id"]
    bob = next(u["id"] for u in emulator.state()["users"] if u["username"] == "bob")
    store.delete(keys.rate_bucket("user", bob))  # earlier tests spent some of bob's tokens
    configure_channel(store, channel, ConfigPatch(user_rate=RateLimit(capacity=5, per_seconds=60)))
    started = time.monotonic()
    sent = [emulator.inject_message(f"question {i}", channel_id=channel, author="bob", mention_bot=True)
            for i in range(100)]
    assert time.monotonic() - started < 10
    wait_until(lambda: sum(store.exists(keys.accepted(m["id"])) for m in sent) >= 5, 30, "five activations")
    for message in sent[:5]:
        wait_for_posted_reply(store, emulator, message["id"])
    barrier(emulator, store, channel)
    answered = [m for m in sent if bot_messages_replying_to(emulator, m["id"])]
    notices = [r for m in sent for r in bot_messages_replying_to(emulator, m["id"]) if r["content"].startswith("⏳")]
    assert [m["id"] for m in sent if store.exists(keys.accepted(m["id"]))] == [m["id"] for m in sent[:5]]
    assert len(notices) == 1
    assert len(answered) == 6  # five answers and the one notice


def post_reply(store: redis.Redis, emulator: EmulatorClient, text: str, outcome: Outcome) -> dict:
    """Hand the gateway a finished reply, as a planner would, for a real user message."""
    asked = emulator.inject_message("(a question answered by the test)", channel_id="random", author="alice")
    reply = Reply(activation_id=asked["id"], guild_id=asked["guild_id"], channel_id=asked["channel_id"],
                  reply_to_message_id=asked["id"], outcome=outcome, text=text)
    store.xadd(Stream.REPLIES, {STREAM_FIELD: reply.to_json()})
    wait_until(lambda: store.exists(keys.posted(asked["id"])), 30, "the reply to be posted")
    return asked


def test_a_5000_character_answer_with_code_is_split_whole(emulator: EmulatorClient, store: redis.Redis) -> None:
    code = "```python\n" + "\n".join(f"print('line {i}')" for i in range(200)) + "\n```"
    text = "Here you go.\n\n" + code + "\n\n" + " ".join(["done"] * 450)
    assert 5000 <= len(text) <= 6000
    asked = post_reply(store, emulator, text, Outcome.REPLIED)
    posted = [m for m in emulator.messages(channel_id="random", author="bot") if m.get("nonce", "").startswith(
        asked["id"])]
    assert len(posted) >= 3 and all(len(m["content"]) <= 2000 for m in posted)
    assert all(m["content"].count("```") % 2 == 0 for m in posted)
    assert posted[0]["message_reference"]["message_id"] == asked["id"]
    assert all(f"print('line {i}')" in "".join(m["content"] for m in posted) for i in range(200))


def test_a_very_long_answer_is_attached_as_a_file(emulator: EmulatorClient, store: redis.Redis) -> None:
    asked = post_reply(store, emulator, "word " * 2000, Outcome.REPLIED)
    posted = [m for m in emulator.messages(channel_id="random", author="bot") if m.get("nonce", "").startswith(
        asked["id"])]
    assert posted[0]["content"].startswith("📎")
    assert [a["filename"] for a in posted[1]["attachments"]] == ["answer.md"]
    assert posted[1]["attachments"][0]["size"] == len(("word " * 2000).encode())


def test_a_failure_is_a_reaction_and_a_short_message(emulator: EmulatorClient, store: redis.Redis) -> None:
    asked = post_reply(store, emulator, "Sorry, the model is unavailable right now. (`model_unavailable`)",
                       Outcome.MODEL_UNAVAILABLE)
    replies = bot_messages_replying_to(emulator, asked["id"])
    assert len(replies) == 1 and "model_unavailable" in replies[0]["content"]
    reactions = wait_until(lambda: emulator.message(asked["id"]).get("reactions"), 10, "the reaction")
    assert [r["emoji"]["name"] for r in reactions] == ["⚠️"]


def test_a_429_and_5xx_storm_still_posts_every_reply_exactly_once(stack, emulator: EmulatorClient,
                                                                  store: redis.Redis) -> None:
    channel = emulator.create_channel("stormy")["id"]
    emulator.add_fault(429, rf"/channels/{channel}/messages$", method="POST", count=6, retry_after=0.3)
    emulator.add_fault(500, rf"/channels/{channel}/messages/\d+$", method="PATCH", count=3)
    # Long answers stream (placeholder + edits), so the PATCH failures are met too; the model decides how
    # long it writes, so ask again (a bounded number of times) until every injected failure was met.
    asked: list[dict] = []
    topics = ["a robot who learns to paint", "a lighthouse keeper in a storm", "a ship lost at sea",
              "a city under endless rain", "a fox who builds a boat", "a storm that talks"]
    for round_ in range(len(topics) // 2):
        batch = [emulator.inject_message(f"Write a long story about {topic}. Use at least five paragraphs.",
                                         channel_id=channel, author="alice", mention_bot=True)
                 for topic in topics[2 * round_:2 * round_ + 2] * 2]
        for message in batch:
            wait_for_posted_reply(store, emulator, message["id"])
        asked += batch
        if not emulator.faults()["faults"]:
            break
    barrier(emulator, store, channel)
    for message in asked:
        assert len(bot_messages_replying_to(emulator, message["id"])) == 1
    assert emulator.faults()["faults"] == [], "every injected failure was served"
    metrics = urllib.request.urlopen(stack.metrics_url("gateway"), timeout=5).read().decode()
    limited = sum(float(line.rsplit(" ", 1)[1]) for line in metrics.splitlines()
                  if line.startswith("switchboard_discord_rate_limited_total{"))
    assert limited >= 6


def test_reject_policy_tells_the_user_once_while_busy(emulator: EmulatorClient, store: redis.Redis) -> None:
    channel = emulator.create_channel("one-at-a-time")["id"]
    configure_channel(store, channel, ConfigPatch(double_texting=DoubleTexting.REJECT))
    first = emulator.inject_message("Tell me a long story about the sea.", channel_id=channel, author="alice",
                                    mention_bot=True)
    second = emulator.inject_message("and another thing", channel_id=channel, author="alice", mention_bot=True)
    third = emulator.inject_message("and one more", channel_id=channel, author="alice", mention_bot=True)
    wait_for_posted_reply(store, emulator, first["id"])
    assert not store.exists(keys.accepted(second["id"])) and not store.exists(keys.accepted(third["id"]))
    notices = [r for m in (second, third) for r in bot_messages_replying_to(emulator, m["id"])]
    assert [n["content"][:1] for n in notices] == ["✋"]
    after = emulator.inject_message("now?", channel_id=channel, author="alice", mention_bot=True)
    assert wait_for_posted_reply(store, emulator, after["id"])["content"]


def test_interrupt_policy_stops_the_running_answer(chat_emulator: EmulatorClient, chat_store: redis.Redis,
                                                   chat_api: FakeChatApi) -> None:
    """On the scripted model, whose first answer streams until it is stopped: no race with a fast model."""
    emulator, store = chat_emulator, chat_store
    channel = emulator.create_channel("impatient")["id"]
    configure_channel(store, channel, ConfigPatch(double_texting=DoubleTexting.INTERRUPT))
    chat_api.client_left.clear()
    chat_api.script(text="Once upon a time a lighthouse keeper counted the waves", hold=True, drip=True)
    first = emulator.inject_message("Write a very long story about a lighthouse keeper.", channel_id=channel,
                                    author="bob", mention_bot=True)
    wait_until(lambda: bot_messages_replying_to(emulator, first["id"]), 60, "the answer to start streaming")
    chat_api.script(text="Hi!")
    second = emulator.inject_message("Actually, just say hi.", channel_id=channel, author="bob", mention_bot=True)
    assert wait_for_posted_reply(store, emulator, second["id"])["content"] == "Hi!"
    assert chat_api.client_left.wait(30), "the first answer's generation was never stopped"
    wait_until(lambda: store.exists(keys.posted(first["id"])), 60, "the first activation's outcome")
    record = json.loads(store.get(keys.record(first["id"])))
    assert record["outcome"] == "silent" and record["error"]["code"] == "superseded"
    (cut,) = bot_messages_replying_to(emulator, first["id"])
    assert cut["content"].startswith("↪️")
