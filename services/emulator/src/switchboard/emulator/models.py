"""The entities of the emulated Discord and their JSON shapes.

Each ``payload`` method returns a fresh dict exactly as Discord's API v10
sends that object (ids as strings), so callers may mutate the result.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# Channel types (https://discord.com/developers/docs/resources/channel#channel-object-channel-types).
GUILD_TEXT = 0
DM = 1
PUBLIC_THREAD = 11

# Message types.
MESSAGE_DEFAULT = 0
MESSAGE_REPLY = 19
MESSAGE_CHAT_INPUT_COMMAND = 20
MESSAGE_CONTEXT_MENU_COMMAND = 23

# What @everyone may do in the seeded guild: enough for a chat bot to read,
# answer, embed, attach and react, as in a typical server.
EVERYONE_PERMISSIONS = sum(
    1 << bit
    for bit in (
        0,  # CREATE_INSTANT_INVITE
        6,  # ADD_REACTIONS
        10,  # VIEW_CHANNEL
        11,  # SEND_MESSAGES
        14,  # EMBED_LINKS
        15,  # ATTACH_FILES
        16,  # READ_MESSAGE_HISTORY
        18,  # USE_EXTERNAL_EMOJIS
        26,  # CHANGE_NICKNAME
        31,  # USE_APPLICATION_COMMANDS
        35,  # CREATE_PUBLIC_THREADS
        38,  # SEND_MESSAGES_IN_THREADS
    )
)


@dataclass
class User:
    """A Discord user; ``bot`` marks bot accounts (the emulated bot and others)."""

    id: int
    username: str
    global_name: str | None = None
    bot: bool = False

    def payload(self) -> dict[str, Any]:
        """The partial user object found in message authors and mentions."""
        data: dict[str, Any] = {
            "id": str(self.id),
            "username": self.username,
            "discriminator": "0",
            "global_name": self.global_name,
            "avatar": None,
            "public_flags": 0,
        }
        if self.bot:
            data["bot"] = True
        return data

    def private_payload(self) -> dict[str, Any]:
        """The user object ``GET /users/@me`` and READY return for the logged-in account."""
        return {
            **self.payload(),
            "bot": self.bot,
            "flags": 0,
            "verified": True,
            "mfa_enabled": False,
            "email": None,
            "locale": "en-US",
            "banner": None,
            "accent_color": None,
        }


@dataclass
class Member:
    """A user's membership in a guild."""

    user_id: int
    joined_at: str
    roles: list[int] = field(default_factory=list)
    nick: str | None = None

    def payload(self, user: User | None = None) -> dict[str, Any]:
        """The guild member object; with ``user`` it embeds the user (as in GUILD_CREATE)."""
        data: dict[str, Any] = {
            "roles": [str(role_id) for role_id in self.roles],
            "joined_at": self.joined_at,
            "nick": self.nick,
            "avatar": None,
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "pending": False,
            "flags": 0,
            "communication_disabled_until": None,
        }
        if user is not None:
            data["user"] = user.payload()
        return data


@dataclass
class Role:
    """A guild role; the @everyone role's id equals the guild id."""

    id: int
    name: str
    permissions: int
    position: int = 0

    def payload(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "name": self.name,
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "icon": None,
            "unicode_emoji": None,
            "position": self.position,
            "permissions": str(self.permissions),
            "managed": False,
            "mentionable": False,
            "flags": 0,
        }


@dataclass
class Channel:
    """A guild text channel (``guild_id`` set) or a DM channel (``recipient_id`` set).

    Threads are the subclass :class:`~switchboard.emulator.threads.Thread`.
    """

    id: int
    type: int
    name: str | None = None
    guild_id: int | None = None
    position: int = 0
    topic: str | None = None
    recipient_id: int | None = None
    last_message_id: int | None = None

    @property
    def is_dm(self) -> bool:
        return self.type == DM

    @property
    def is_thread(self) -> bool:
        return False

    def note_message(self, message_id: int) -> None:
        """Account for a new message posted here."""
        self.last_message_id = message_id

    def payload(self, users: Mapping[int, User]) -> dict[str, Any]:
        last = str(self.last_message_id) if self.last_message_id else None
        if self.is_dm:
            recipient = users[self.recipient_id] if self.recipient_id is not None else None
            return {
                "id": str(self.id),
                "type": DM,
                "last_message_id": last,
                "flags": 0,
                "recipients": [recipient.payload()] if recipient else [],
            }
        return {
            "id": str(self.id),
            "type": self.type,
            "guild_id": str(self.guild_id),
            "name": self.name,
            "position": self.position,
            "permission_overwrites": [],
            "parent_id": None,
            "topic": self.topic,
            "nsfw": False,
            "rate_limit_per_user": 0,
            "last_message_id": last,
            "flags": 0,
        }


@dataclass
class Guild:
    """A guild: roles, members by user id (the bot among them unless it was removed), its owner,
    and when the bot (last) joined it."""

    id: int
    name: str
    owner_id: int
    joined_at: str
    roles: list[Role] = field(default_factory=list)
    members: dict[int, Member] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """The fields that identify the guild, as the control API shows it."""
        return {"id": str(self.id), "name": self.name, "owner_id": str(self.owner_id)}

    def payload(
        self, channels: list[dict[str, Any]], members: list[dict[str, Any]], threads: list[dict[str, Any]]
    ) -> dict[str, Any]:
        """The GUILD_CREATE body with the given channel, member and active thread objects."""
        return {
            **self.summary(),
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "premium_progress_bar_enabled": False,
            "preferred_locale": "en-US",
            "features": [],
            "application_id": None,
            "system_channel_id": channels[0]["id"] if channels else None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "vanity_url_code": None,
            "max_members": 500000,
            "max_video_channel_users": 25,
            "roles": [role.payload() for role in self.roles],
            "emojis": [],
            "stickers": [],
            "joined_at": self.joined_at,
            "large": False,
            "unavailable": False,
            "member_count": len(self.members),
            "members": members,
            "channels": channels,
            "threads": threads,
            "presences": [],
            "voice_states": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
        }
