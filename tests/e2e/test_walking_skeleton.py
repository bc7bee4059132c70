"""One Discord message becomes a streamed reply through all four services (real Redis, Celery, Ray,
SmolLM2, unmodified discord.py against the Discord emulator)."""

from __future__ import annotations

import redis

from switchboard.core import keys
from switchboard.core.wire import StepResult
from switchboard.emulator.client import EmulatorClient
from tests.conftest import wait_until

REPLY_TIMEOUT = 90


def bot_messages_replying_to(emulator: EmulatorClient, message_id: str) -> list[dict]:
    return [m for m in emulator.messages(author="bot")
            if (m.get("message_reference") or {}).get("message_id") == message_id]


def wait_for_posted_reply(store: redis.Redis, emulator: EmulatorClient, message_id: str) -> dict:
    """The bot's answer to `message_id`, once the gateway has marked it posted; fails if there are two.

    Answers carry the activation's nonce; notices (throttled, files skipped, ...) carry their own.
    """
    wait_until(lambda: store.exists(keys.posted(message_id)), REPLY_TIMEOUT, f"a reply to {message_id}")
    replies = [m for m in bot_messages_replying_to(emulator, message_id) if m.get("nonce") == message_id]
    assert len(replies) == 1, replies
    return replies[0]


def test_mention_gets_exactly_one_streamed_reply_from_the_model(emulator: EmulatorClient, store: redis.Redis) -> None:
    channel = emulator.create_channel("stories")["id"]  # a fresh history: the answer depends on the prompt alone
    asked = emulator.inject_message(
        channel_id=channel, author="alice", mention_bot=True,
        content="Write a long story about a robot who learns to paint. Use at least five paragraphs.")
    reply = wait_for_posted_reply(store, emulator, asked["id"])

    recorded = StepResult.from_json(store.hget(keys.journal(asked["id"]), "infer:0"))
    assert reply["content"] == recorded.output.text.strip()  # type: ignore[union-attr]
    assert reply["content"]
    shown = [edit["content"] for edit in reply["edits"]]
    if recorded.output.completion_tokens >= 60:  # type: ignore[union-attr]  # seconds of streaming on this CPU
        assert len(shown) >= 2, "a long answer is edited while it streams, then settled"
        assert shown[-1] == reply["content"]
        assert all(text.endswith("▌") for text in [reply["created_content"], *shown[:-1]])
    assert reply["allowed_mentions"] == {"parse": []}
    assert reply["nonce"] == asked["id"]


def test_reply_to_the_bot_activates(emulator: EmulatorClient, store: redis.Redis) -> None:
    first = emulator.inject_message(channel_id="general", author="bob", mention_bot=True, content="Say hello.")
    bot_reply = wait_for_posted_reply(store, emulator, first["id"])
    follow_up = emulator.inject_message(channel_id="general", author="bob", reply_to=bot_reply["id"],
                                        content="Thanks! And goodbye?")
    assert wait_for_posted_reply(store, emulator, follow_up["id"])["content"]


def test_dm_activates(emulator: EmulatorClient, store: redis.Redis) -> None:
    asked = emulator.inject_message(author="alice", dm=True, content="hello in private")
    assert wait_for_posted_reply(store, emulator, asked["id"])["content"]


def test_plain_bot_and_comment_messages_get_no_reply(emulator: EmulatorClient, store: redis.Redis) -> None:
    bot_id = emulator.state()["bot_user"]["id"]
    quiet = [
        emulator.inject_message(channel_id="general", author="alice", content="just chatting"),
        emulator.inject_message(channel_id="general", author="otherbot", mention_bot=True, content="bot talk"),
        emulator.inject_message(channel_id="general", author="alice", content=f"!! a note, <@{bot_id}> ignore"),
    ]
    assert quiet[2]["mentions"][0]["id"] == bot_id
    # A message that does activate, sent last: once it is answered, the ones before it were decided.
    barrier = emulator.inject_message(channel_id="general", author="alice", mention_bot=True, content="ping")
    wait_for_posted_reply(store, emulator, barrier["id"])
    for message in quiet:
        assert bot_messages_replying_to(emulator, message["id"]) == []
        assert not store.exists(keys.accepted(message["id"]))
