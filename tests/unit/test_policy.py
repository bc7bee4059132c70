"""Activation policy: who wakes the bot, and who never does."""

from __future__ import annotations

import pytest

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
