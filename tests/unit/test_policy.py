"""Activation policy: who wakes the bot, and who never does."""

from __future__ import annotations

import pytest

from switchboard.core.config import ChannelConfig, ChannelMode
from switchboard.core.wire import Trigger
from switchboard.gateway.policy import MessageFacts, decide

BOT = 1000
ALICE = 2000


def facts(**overrides: object) -> MessageFacts:
    base = dict(author_id=ALICE, author_is_bot=False, content="hello", is_dm=False,
                mentions_bot=False, replies_to_bot=False)
    return MessageFacts(**{**base, **overrides})  # type: ignore[arg-type]


@pytest.mark.parametrize(("overrides", "expected"), [
    ({}, None),
    ({"mentions_bot": True}, Trigger.MENTION),
    ({"replies_to_bot": True}, Trigger.REPLY),
    ({"is_dm": True}, Trigger.DM),
    ({"is_dm": True, "mentions_bot": True}, Trigger.DM),
    ({"mentions_bot": True, "replies_to_bot": True}, Trigger.MENTION),
])
def test_triggers(overrides: dict, expected: Trigger | None) -> None:
    assert decide(facts(**overrides), BOT) == expected


@pytest.mark.parametrize("overrides", [
    {"author_is_bot": True, "mentions_bot": True},
    {"author_is_bot": True, "is_dm": True},
    {"author_id": BOT, "mentions_bot": True},
    {"author_id": BOT, "replies_to_bot": True},
    {"content": "!! note to self <@1000>", "mentions_bot": True},
    {"content": "   !!aside", "is_dm": True},
])
def test_never_activates(overrides: dict) -> None:
    assert decide(facts(**overrides), BOT) is None


def test_double_bang_inside_the_text_still_activates() -> None:
    assert decide(facts(content="hey <@1000> !! look", mentions_bot=True), BOT) == Trigger.MENTION


def open_channel(mode: ChannelMode, channels: tuple[str, ...] = ("10",), **overrides: object) -> ChannelConfig:
    return ChannelConfig(channel_mode=mode, channels=channels, **overrides)  # type: ignore[arg-type]


@pytest.mark.parametrize(("config", "channel", "parent", "expected"), [
    (open_channel(ChannelMode.ALLOW_LIST), "10", None, Trigger.CHANNEL),
    (open_channel(ChannelMode.ALLOW_LIST), "11", None, None),
    (open_channel(ChannelMode.DENY_LIST), "10", None, None),
    (open_channel(ChannelMode.DENY_LIST), "11", None, Trigger.CHANNEL),
    (open_channel(ChannelMode.ALLOW_LIST), "thread-1", "10", Trigger.CHANNEL),  # a thread counts as its parent
    (open_channel(ChannelMode.ALLOW_LIST, silent=True), "10", None, None),
    (ChannelConfig(), "10", None, None),
])
def test_channel_lists(config: ChannelConfig, channel: str, parent: str | None, expected: Trigger | None) -> None:
    assert decide(facts(channel_id=channel, parent_id=parent), BOT, config) == expected


@pytest.mark.parametrize(("content", "expected"), [
    ("does anyone know the weather?", Trigger.KEYWORD),
    ("WEATHER report", Trigger.KEYWORD),
    ("weatherman", None),
    ("nothing to see", None),
])
def test_keywords_match_whole_words(content: str, expected: Trigger | None) -> None:
    assert decide(facts(content=content), BOT, ChannelConfig(keywords=("weather",))) == expected


def test_silent_channel_still_answers_mentions_but_not_keywords() -> None:
    silent = ChannelConfig(silent=True, keywords=("weather",))
    assert decide(facts(content="weather?"), BOT, silent) is None
    assert decide(facts(content="weather?", mentions_bot=True), BOT, silent) == Trigger.MENTION


def test_comments_and_bots_stay_quiet_in_open_channels() -> None:
    config = open_channel(ChannelMode.DENY_LIST, channels=())
    assert decide(facts(content="!! aside"), BOT, config) is None
    assert decide(facts(author_is_bot=True), BOT, config) is None
