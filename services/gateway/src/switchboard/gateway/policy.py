"""The activation policy: does this message wake the bot, and why?

A pure function of facts about the message and the channel's config, so it is tested without Discord.
Never our own messages, never other bots, never a message starting with `!!` (a comment, even with a
mention). Then: a DM, a mention of the bot, a reply to one of the bot's messages; unless the channel is
silent or asleep (the `sleep` tool, until the next mention), also a configured keyword, or any message in
a channel the config opens (allow-list, or not in the deny-list). Threads are judged by their parent
channel.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import discord

from switchboard.core.config import ChannelConfig, ChannelMode
from switchboard.core.wire import Trigger

COMMENT_PREFIX = "!!"
# Triggers of messages that do not address the bot: the only ones a sleeping channel ignores.
AMBIENT = frozenset({Trigger.KEYWORD, Trigger.CHANNEL})


@dataclass(frozen=True)
class MessageFacts:
    author_id: int
    author_is_bot: bool
    content: str
    is_dm: bool
    mentions_bot: bool
    replies_to_bot: bool
    channel_id: str = ""
    parent_id: str | None = None  # the parent channel, for a message in a thread
    # The bot sleeps in this channel. Only ambient triggers care, so the gateway reads it for those alone.
    channel_asleep: bool = False


def decide(facts: MessageFacts, bot_id: int, config: ChannelConfig | None = None) -> Trigger | None:
    """The trigger that activates the bot, or None to stay quiet."""
    config = config or ChannelConfig()
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
    if config.silent or facts.channel_asleep:
        return None
    if any(_contains_word(facts.content, keyword) for keyword in config.keywords):
        return Trigger.KEYWORD
    if _channel_open(facts.parent_id or facts.channel_id, config):
        return Trigger.CHANNEL
    return None


def _channel_open(channel_id: str, config: ChannelConfig) -> bool:
    if config.channel_mode == ChannelMode.ALLOW_LIST:
        return channel_id in config.channels
    if config.channel_mode == ChannelMode.DENY_LIST:
        return channel_id not in config.channels
    return False


def _contains_word(text: str, keyword: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(keyword)}(?!\w)", text, re.IGNORECASE) is not None


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
        channel_id=str(message.channel.id),
        parent_id=parent_of(message.channel),
    )


def parent_of(channel: object) -> str | None:
    """The parent channel id of a thread, else None."""
    return str(channel.parent_id) if isinstance(channel, discord.Thread) and channel.parent_id else None
