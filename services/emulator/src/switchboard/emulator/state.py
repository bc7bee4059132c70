"""The emulated world: who exists, which guild and channels, and their messages.

``World`` owns no I/O; the REST, gateway and control layers read and change
it and decide what to tell connected clients.

Seeded entities have fixed ids (below) so tests and tools can name them
without asking; ``GET /_emulator/state`` reports them at run time as well.
"""

from __future__ import annotations

from typing import Any

from . import errors
from .messages import MessageStore, StoredMessage
from .models import DM, EVERYONE_PERMISSIONS, GUILD_TEXT, Channel, Guild, Member, Role, User
from .snowflake import SnowflakeGenerator, iso_timestamp

# Fixed ids of the seeded world. They are valid snowflakes from early 2024,
# older than anything generated at run time, so id order stays time order.
BOT_USER_ID = 1_200_000_000_000_000_001  # also the application id, as on Discord
GUILD_ID = 1_200_000_000_000_000_100  # also the @everyone role id
GENERAL_CHANNEL_ID = 1_200_000_000_000_000_101
RANDOM_CHANNEL_ID = 1_200_000_000_000_000_102
ALICE_ID = 1_200_000_000_000_000_201
BOB_ID = 1_200_000_000_000_000_202
OTHERBOT_ID = 1_200_000_000_000_000_203
ALICE_DM_CHANNEL_ID = 1_200_000_000_000_000_301
BOB_DM_CHANNEL_ID = 1_200_000_000_000_000_302

BOT_USERNAME = "Switchboard"
GUILD_NAME = "Test Guild"


class World:
    """Users, the one guild, its channels, DM channels and the message store.

    References to users accept an id (int or digit string), a username, or
    ``"bot"``; references to channels accept an id or a guild channel's name.
    """

    def __init__(self, snowflakes: SnowflakeGenerator, nonce_window_s: float):
        self.snowflakes = snowflakes
        self.bot = User(BOT_USER_ID, BOT_USERNAME, global_name=BOT_USERNAME, bot=True)
        self.users: dict[int, User] = {self.bot.id: self.bot}
        self.channels: dict[int, Channel] = {}
        self.guild = Guild(GUILD_ID, GUILD_NAME, owner_id=ALICE_ID, joined_at=iso_timestamp(GUILD_ID))
        self.guild.roles.append(Role(GUILD_ID, "@everyone", EVERYONE_PERMISSIONS))
        self.messages = MessageStore(self, nonce_window_s)
        self._seed()

    def _seed(self) -> None:
        self._add_member(self.bot)
        for user_id, name, is_bot in (
            (ALICE_ID, "alice", False),
            (BOB_ID, "bob", False),
            (OTHERBOT_ID, "otherbot", True),
        ):
            self._add_member(User(user_id, name, global_name=name.capitalize(), bot=is_bot))
        self._add_channel(Channel(GENERAL_CHANNEL_ID, GUILD_TEXT, "general", GUILD_ID, position=0))
        self._add_channel(Channel(RANDOM_CHANNEL_ID, GUILD_TEXT, "random", GUILD_ID, position=1))
        self._add_channel(Channel(ALICE_DM_CHANNEL_ID, DM, recipient_id=ALICE_ID))
        self._add_channel(Channel(BOB_DM_CHANNEL_ID, DM, recipient_id=BOB_ID))

    def _add_member(self, user: User) -> None:
        self.users[user.id] = user
        self.guild.members[user.id] = Member(user.id, joined_at=iso_timestamp(GUILD_ID))

    def _add_channel(self, channel: Channel) -> Channel:
        self.channels[channel.id] = channel
        return channel

    # -- lookups -----------------------------------------------------------------

    def user(self, ref: int | str) -> User:
        """The user named by ``ref``; raises a 404 ``DiscordError`` if unknown."""
        if ref == "bot":
            return self.bot
        user_id = _as_id(ref)
        if user_id is not None and user_id in self.users:
            return self.users[user_id]
        for user in self.users.values():
            if user.username == ref:
                return user
        raise errors.unknown_user()

    def channel(self, ref: int | str) -> Channel:
        """The channel named by ``ref``; raises a 404 ``DiscordError`` if unknown."""
        channel_id = _as_id(ref)
        if channel_id is not None and channel_id in self.channels:
            return self.channels[channel_id]
        for channel in self.guild_channels():
            if channel.name == ref:
                return channel
        raise errors.unknown_channel()

    def guild_channels(self) -> list[Channel]:
        return sorted((c for c in self.channels.values() if not c.is_dm), key=lambda c: (c.position, c.id))

    def dm_channel(self, user: User) -> Channel:
        """The bot's DM channel with ``user``, created on first use like Discord does."""
        if user.id == self.bot.id:
            raise errors.cannot_message_user()
        for channel in self.channels.values():
            if channel.is_dm and channel.recipient_id == user.id:
                return channel
        return self._add_channel(Channel(self.snowflakes.next(), DM, recipient_id=user.id))

    def add_text_channel(self, name: str, topic: str | None = None) -> Channel:
        """A new guild text channel placed after the existing ones."""
        if not name or len(name) > 100:
            raise errors.invalid_form_body("name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
        position = max((c.position for c in self.guild_channels()), default=-1) + 1
        channel = Channel(self.snowflakes.next(), GUILD_TEXT, name, self.guild.id, position, topic)
        return self._add_channel(channel)

    # -- payloads ----------------------------------------------------------------

    def channel_payload(self, channel: Channel) -> dict[str, Any]:
        return channel.payload(self.users)

    def member_payload(self, user_id: int, *, with_user: bool = True) -> dict[str, Any]:
        member = self.guild.members.get(user_id)
        if member is None:
            raise errors.unknown_member()
        return member.payload(self.users[user_id] if with_user else None)

    def members_payload(self, user_ids: list[int] | None = None, query: str = "") -> list[dict[str, Any]]:
        """Members, optionally only ``user_ids`` or those whose username starts with ``query``."""
        selected = []
        for user_id in self.guild.members:
            user = self.users[user_id]
            if user_ids is not None and user_id not in user_ids:
                continue
            if query and not user.username.lower().startswith(query.lower()):
                continue
            selected.append(self.member_payload(user_id))
        return selected

    def guild_payload(self, *, all_members: bool) -> dict[str, Any]:
        """The GUILD_CREATE body.

        Discord only lists every member when the session has the presences
        intent; otherwise it sends just the bot itself (member_count stays full).
        """
        members = self.members_payload(None if all_members else [self.bot.id])
        channels = [self.channel_payload(c) for c in self.guild_channels()]
        for channel in channels:
            # GUILD_CREATE channel objects carry no guild_id; it is implied.
            del channel["guild_id"]
        return self.guild.payload(channels, members)

    def application_payload(self) -> dict[str, Any]:
        """The application object of ``GET /oauth2/applications/@me``."""
        owner = self.users[ALICE_ID]
        return {
            "id": str(self.bot.id),
            "name": self.bot.username,
            "icon": None,
            "description": "Switchboard, as seen by the Discord emulator.",
            "summary": "",
            "type": None,
            "bot_public": True,
            "bot_require_code_grant": False,
            "bot_user": self.bot.payload(),
            "owner": owner.payload(),
            "team": None,
            "verify_key": "0" * 64,
            "flags": 0,
            "hook": True,
            "redirect_uris": [],
            "interactions_endpoint_url": None,
            "tags": [],
            "approximate_guild_count": 1,
        }

    def find_messages(self, channel: int | str | None = None, author: int | str | None = None) -> list[StoredMessage]:
        """Stored messages oldest first, optionally of one channel and/or author (any reference form)."""
        channel_id = self.channel(channel).id if channel is not None else None
        author_id = self.user(author).id if author is not None else None
        return self.messages.all(channel_id, author_id)

    def summary(self) -> dict[str, Any]:
        """Everything a test or tool needs to address the world (control API ``/state``)."""
        return {
            "bot_user": self.bot.payload(),
            "application_id": str(self.bot.id),
            "guild": self.guild.summary(),
            "channels": [self.channel_payload(c) for c in self.channels.values()],
            "users": [user.payload() for user in self.users.values()],
        }


def _as_id(ref: int | str) -> int | None:
    if isinstance(ref, int):
        return ref
    if isinstance(ref, str) and ref.isdigit():
        return int(ref)
    return None
