"""A sleeping channel (the `sleep` tool): only messages that address the bot wake it."""

from __future__ import annotations

import itertools

import pytest

from switchboard.core.config import ChannelConfig, ChannelMode
from switchboard.core.wire import Trigger
from switchboard.gateway.policy import AMBIENT, MessageFacts, decide

BOT = 1000
OPEN = ChannelConfig(channel_mode=ChannelMode.DENY_LIST, keywords=("robot",))  # every channel open


def facts(**overrides: object) -> MessageFacts:
    base = dict(author_id=2000, author_is_bot=False, content="hello all", is_dm=False, mentions_bot=False,
                replies_to_bot=False, channel_id="10")
    return MessageFacts(**{**base, **overrides})  # type: ignore[arg-type]


@pytest.mark.parametrize(("overrides", "awake", "asleep"), [
    ({}, Trigger.CHANNEL, None),
    ({"content": "ask the robot"}, Trigger.KEYWORD, None),
    ({"mentions_bot": True}, Trigger.MENTION, Trigger.MENTION),
    ({"replies_to_bot": True}, Trigger.REPLY, Trigger.REPLY),
    ({"is_dm": True}, Trigger.DM, Trigger.DM),
    ({"content": "!! aside", "mentions_bot": True}, None, None),
])
def test_asleep_only_addressed_messages_wake_the_bot(overrides: dict, awake: Trigger | None,
                                                     asleep: Trigger | None) -> None:
    assert decide(facts(**overrides), BOT, OPEN) == awake
    assert decide(facts(**overrides, channel_asleep=True), BOT, OPEN) == asleep


def test_ambient_triggers_are_exactly_those_sleep_silences() -> None:
    """The gateway reads the asleep mark only for AMBIENT triggers: no other trigger may depend on it."""
    for mention, reply, dm, keyword in itertools.product((False, True), repeat=4):
        case = facts(mentions_bot=mention, replies_to_bot=reply, is_dm=dm, content="robot" if keyword else "hi")
        awake = decide(case, BOT, OPEN)
        asleep = decide(MessageFacts(**{**case.__dict__, "channel_asleep": True}), BOT, OPEN)
        assert (awake != asleep) == (awake in AMBIENT), case
