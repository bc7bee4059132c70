"""The activation policy: does this message wake the bot, and why?

A pure function of facts about the message, so it is tested without Discord. Rules: never our own
messages, never other bots, never a message starting with `!!` (a comment, even with a mention); then
a DM, a mention of the bot, or a reply to one of the bot's messages activates.
"""

from __future__ import annotations

from dataclasses import dataclass

import discord

from switchboard.core.wire import Trigger

COMMENT_PREFIX = "!!"


@dataclass(frozen=True)
class MessageFacts:
    author_id: int
    author_is_bot: bool
    content: str
    is_dm: bool
    mentions_bot: bool
    replies_to_bot: bool


def decide(facts: MessageFacts, bot_id: int) -> Trigger | None:
    """The trigger that activates the bot, or None to stay quiet."""
    if facts.author_id == bot_id or facts.author_is_bot:
        return None
    if facts.content.lstrip().startswith(COMMENT_PREFIX):
        return None
    if facts.is_dm:
        return Trigger.DM
    if facts.mentions_bot:
        return Trigger.MENTION
    if facts.replies_to_bot:
        return Trigger.REPLY
    return None


def facts_of(message: discord.Message, bot_id: int) -> MessageFacts:
    """Facts about a discord.py message that the policy needs."""
    replied = message.reference.resolved if message.reference else None
    return MessageFacts(
        author_id=message.author.id,
        author_is_bot=message.author.bot,
        content=message.content,
        is_dm=message.guild is None,
        mentions_bot=bot_id in message.raw_mentions,
        replies_to_bot=isinstance(replied, discord.Message) and replied.author.id == bot_id,
    )
