"""Gateway intents: which dispatches a session receives, and in what form.

Follows Discord's rules for the events the emulator emits: guild and DM
message, reaction and typing events need their intents (MESSAGE_DELETE_BULK,
guild-only, is a GUILD_MESSAGES event; INTERACTION_CREATE needs none), and
without the privileged MESSAGE_CONTENT intent a message's content, embeds,
attachments and components arrive empty unless the bot wrote it, was
mentioned, or it is a DM (deletions carry only ids).
"""

from __future__ import annotations

from typing import Any

GUILDS = 1 << 0
GUILD_MEMBERS = 1 << 1
GUILD_PRESENCES = 1 << 8
GUILD_MESSAGES = 1 << 9
GUILD_MESSAGE_REACTIONS = 1 << 10
GUILD_MESSAGE_TYPING = 1 << 11
DIRECT_MESSAGES = 1 << 12
DIRECT_MESSAGE_REACTIONS = 1 << 13
DIRECT_MESSAGE_TYPING = 1 << 14
MESSAGE_CONTENT = 1 << 15

_MESSAGE_EVENTS = frozenset({"MESSAGE_CREATE", "MESSAGE_UPDATE", "MESSAGE_DELETE", "MESSAGE_DELETE_BULK"})
# Message events that carry only ids, so nothing to empty without MESSAGE_CONTENT.
_ID_ONLY_MESSAGE_EVENTS = frozenset({"MESSAGE_DELETE", "MESSAGE_DELETE_BULK"})
_CONTENT_FIELDS = {"content": "", "embeds": [], "attachments": [], "components": []}


def shape_for_session(event: str, data: dict[str, Any], intents: int, bot_id: int) -> dict[str, Any] | None:
    """``data`` as a session with ``intents`` should see it, or None if it must not see it."""
    if event in _MESSAGE_EVENTS:
        return _shape_message_event(event, data, intents, bot_id)
    if event == "TYPING_START":
        needed = GUILD_MESSAGE_TYPING if "guild_id" in data else DIRECT_MESSAGE_TYPING
        return data if intents & needed else None
    if event.startswith("MESSAGE_REACTION_"):
        needed = GUILD_MESSAGE_REACTIONS if "guild_id" in data else DIRECT_MESSAGE_REACTIONS
        return data if intents & needed else None
    if event.startswith(("CHANNEL_", "GUILD_", "THREAD_")) and not intents & GUILDS:
        return None
    return data


def _shape_message_event(event: str, data: dict[str, Any], intents: int, bot_id: int) -> dict[str, Any] | None:
    in_guild = "guild_id" in data
    if not intents & (GUILD_MESSAGES if in_guild else DIRECT_MESSAGES):
        return None
    if event in _ID_ONLY_MESSAGE_EVENTS or intents & MESSAGE_CONTENT or _content_visible_anyway(data, bot_id, in_guild):
        return data
    return {**data, **{key: type(empty)() for key, empty in _CONTENT_FIELDS.items()}}


def _content_visible_anyway(data: dict[str, Any], bot_id: int, in_guild: bool) -> bool:
    author = data.get("author") or {}
    mentioned = any(user.get("id") == str(bot_id) for user in data.get("mentions", []))
    return not in_guild or author.get("id") == str(bot_id) or mentioned
