"""The emulated world: who exists, which guilds, channels and threads, and their messages.

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
from .threads import Thread, new_thread

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
# The second guild is one millisecond younger, so that with two shards the
# guilds land on different shards: (GUILD_ID >> 22) % 2 == 1, (SECOND_GUILD_ID >> 22) % 2 == 0.
SECOND_GUILD_ID = 1_200_000_000_004_200_100  # also its @everyone role id
LOBBY_CHANNEL_ID = 1_200_000_000_004_200_101
OFF_TOPIC_CHANNEL_ID = 1_200_000_000_004_200_102

BOT_USERNAME = "Switchboard"
GUILD_NAME = "Test Guild"
SECOND_GUILD_NAME = "Second Guild"


class World:
    """Users, the guilds, their channels and threads, DM channels and the message store.

    ``guild`` is the primary guild ("Test Guild"); ``guilds`` holds every
    guild by id, the primary one first. References to users accept an id
    (int or digit string), a username, or ``"bot"``; references to channels
    accept an id or the name of a guild channel or thread (names are unique
    across the seeded guilds); references to guilds an id or a name.
    """

    def __init__(self, snowflakes: SnowflakeGenerator, nonce_window_s: float, *, second_guild: bool = True):
        self.snowflakes = snowflakes
        self.bot = User(BOT_USER_ID, BOT_USERNAME, global_name=BOT_USERNAME, bot=True)
        self.users: dict[int, User] = {self.bot.id: self.bot}
        self.channels: dict[int, Channel] = {}
        self.guilds: dict[int, Guild] = {}
        self.guild = self._add_guild(GUILD_ID, GUILD_NAME)
        self.messages = MessageStore(self, nonce_window_s)
        self._seed(second_guild)

    def _seed(self, second_guild: bool) -> None:
        for user_id, name, is_bot in (
            (ALICE_ID, "alice", False),
            (BOB_ID, "bob", False),
            (OTHERBOT_ID, "otherbot", True),
        ):
            self.users[user_id] = User(user_id, name, global_name=name.capitalize(), bot=is_bot)
        for user_id in (BOT_USER_ID, ALICE_ID, BOB_ID, OTHERBOT_ID):
            self._add_member(self.guild, user_id)
        self._add_channel(Channel(GENERAL_CHANNEL_ID, GUILD_TEXT, "general", GUILD_ID, position=0))
        self._add_channel(Channel(RANDOM_CHANNEL_ID, GUILD_TEXT, "random", GUILD_ID, position=1))
        self._add_channel(Channel(ALICE_DM_CHANNEL_ID, DM, recipient_id=ALICE_ID))
        self._add_channel(Channel(BOB_DM_CHANNEL_ID, DM, recipient_id=BOB_ID))
        if second_guild:
            second = self._add_guild(SECOND_GUILD_ID, SECOND_GUILD_NAME)
            for user_id in (BOT_USER_ID, ALICE_ID, BOB_ID):
                self._add_member(second, user_id)
            self._add_channel(Channel(LOBBY_CHANNEL_ID, GUILD_TEXT, "lobby", SECOND_GUILD_ID, position=0))
            self._add_channel(Channel(OFF_TOPIC_CHANNEL_ID, GUILD_TEXT, "off-topic", SECOND_GUILD_ID, position=1))

    def _add_guild(self, guild_id: int, name: str) -> Guild:
        guild = Guild(guild_id, name, owner_id=ALICE_ID, joined_at=iso_timestamp(guild_id))
        guild.roles.append(Role(guild_id, "@everyone", EVERYONE_PERMISSIONS))
        self.guilds[guild_id] = guild
        return guild

    def _add_member(self, guild: Guild, user_id: int, joined_at: str | None = None) -> None:
        guild.members[user_id] = Member(user_id, joined_at=joined_at or iso_timestamp(guild.id))

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
        """The channel or thread named by ``ref``; raises a 404 ``DiscordError`` if unknown."""
        channel_id = _as_id(ref)
        if channel_id is not None and channel_id in self.channels:
            return self.channels[channel_id]
        for guild_id in self.guilds:
            for channel in [*self.guild_channels(guild_id), *self.threads(guild_id)]:
                if channel.name == ref:
                    return channel
        raise errors.unknown_channel()

    def find_guild(self, ref: int | str) -> Guild:
        """The guild named by ``ref`` (id or name); raises 404 Unknown Guild otherwise."""
        guild_id = _as_id(ref)
        if guild_id is not None and guild_id in self.guilds:
            return self.guilds[guild_id]
        for guild in self.guilds.values():
            if guild.name == ref:
                return guild
        raise errors.unknown_guild()

    def guild_channels(self, guild_id: int | None = None) -> list[Channel]:
        """The text channels of ``guild_id`` (default: the primary guild) in position order, no threads."""
        wanted = self.guild.id if guild_id is None else guild_id
        return sorted(
            (c for c in self.channels.values() if c.guild_id == wanted and not c.is_thread),
            key=lambda c: (c.position, c.id),
        )

    def threads(self, guild_id: int) -> list[Thread]:
        """The threads of ``guild_id``, oldest first."""
        return [c for c in self.channels.values() if isinstance(c, Thread) and c.guild_id == guild_id]

    def dm_channel(self, user: User) -> Channel:
        """The bot's DM channel with ``user``, created on first use like Discord does."""
        if user.id == self.bot.id:
            raise errors.cannot_message_user()
        for channel in self.channels.values():
            if channel.is_dm and channel.recipient_id == user.id:
                return channel
        return self._add_channel(Channel(self.snowflakes.next(), DM, recipient_id=user.id))

    def add_text_channel(self, name: str, topic: str | None = None, guild_id: int | None = None) -> Channel:
        """A new text channel of ``guild_id`` (default: the primary guild) placed after the existing ones."""
        if not name or len(name) > 100:
            raise errors.invalid_form_body("name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
        guild = self.guild if guild_id is None else self.find_guild(guild_id)
        position = max((c.position for c in self.guild_channels(guild.id)), default=-1) + 1
        channel = Channel(self.snowflakes.next(), GUILD_TEXT, name, guild.id, position, topic)
        return self._add_channel(channel)

    def add_thread(self, parent: Channel, name: str, owner: User, auto_archive_duration: int = 1440) -> Thread:
        """A new public thread in the text channel ``parent``, started by ``owner`` (a member)."""
        if parent.guild_id is not None and owner.id not in self.guilds[parent.guild_id].members:
            raise errors.unknown_member()
        thread = new_thread(self.snowflakes.next(), parent, name, owner, auto_archive_duration)
        self._add_channel(thread)
        return thread

    # -- the bot's guild membership -------------------------------------------------

    def bot_in_guild(self, guild_id: int) -> bool:
        """Whether the bot is a member of ``guild_id`` now (it may have been removed, and added back)."""
        guild = self.guilds.get(guild_id)
        return guild is not None and self.bot.id in guild.members

    def bot_guilds(self) -> list[Guild]:
        """The guilds the bot is a member of, primary first: the ones READY and GUILD_CREATE announce."""
        return [guild for guild in self.guilds.values() if self.bot.id in guild.members]

    def remove_bot(self, ref: int | str) -> Guild:
        """Take the bot out of the guild named by ``ref`` (it was kicked); the guild and its channels,
        messages and other members stay. 404 Unknown Guild / Unknown Member if there is no such guild,
        or the bot is not in it."""
        guild = self.find_guild(ref)
        if guild.members.pop(self.bot.id, None) is None:
            raise errors.unknown_member()
        return guild

    def add_bot(self, ref: int | str) -> Guild:
        """Add the bot to the guild named by ``ref`` again, joined now; 400 if it is already a member."""
        guild = self.find_guild(ref)
        if self.bot.id in guild.members:
            raise errors.DiscordError(400, 0, "The bot is already a member of that guild")
        guild.joined_at = iso_timestamp(self.snowflakes.next())
        self._add_member(guild, self.bot.id, guild.joined_at)
        return guild

    def guild_of(self, channel: Channel) -> Guild | None:
        """The guild ``channel`` belongs to; None for DM channels."""
        return self.guilds[channel.guild_id] if channel.guild_id is not None else None

    # -- payloads ----------------------------------------------------------------

    def channel_payload(self, channel: Channel) -> dict[str, Any]:
        return channel.payload(self.users)

    def member_payload(self, user_id: int, guild_id: int | None = None, *, with_user: bool = True) -> dict[str, Any]:
        """The member object of ``user_id`` in ``guild_id`` (default: the primary guild)."""
        guild = self.guild if guild_id is None else self.guilds[guild_id]
        member = guild.members.get(user_id)
        if member is None:
            raise errors.unknown_member()
        return member.payload(self.users[user_id] if with_user else None)

    def members_payload(
        self, user_ids: list[int] | None = None, query: str = "", guild_id: int | None = None
    ) -> list[dict[str, Any]]:
        """Members of ``guild_id`` (default: primary); only ``user_ids``, or usernames starting with ``query``."""
        guild = self.guild if guild_id is None else self.guilds[guild_id]
        selected = []
        for user_id in guild.members:
            user = self.users[user_id]
            if user_ids is not None and user_id not in user_ids:
                continue
            if query and not user.username.lower().startswith(query.lower()):
                continue
            selected.append(self.member_payload(user_id, guild.id))
        return selected

    def guild_payload(self, guild: Guild | None = None, *, all_members: bool) -> dict[str, Any]:
        """The GUILD_CREATE body of ``guild`` (default: the primary guild).

        Discord only lists every member when the session has the presences
        intent; otherwise it sends just the bot itself (member_count stays full).
        Active threads are listed too.
        """
        guild = guild or self.guild
        members = self.members_payload(None if all_members else [self.bot.id], guild_id=guild.id)
        channels = [self.channel_payload(c) for c in self.guild_channels(guild.id)]
        for channel in channels:
            # GUILD_CREATE channel objects carry no guild_id; it is implied.
            del channel["guild_id"]
        threads = [self.channel_payload(t) for t in self.threads(guild.id)]
        return guild.payload(channels, members, threads)

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
            "approximate_guild_count": len(self.bot_guilds()),
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
            "guilds": [
                {**guild.summary(), "bot_member": self.bot.id in guild.members} for guild in self.guilds.values()
            ],
            "channels": [self.channel_payload(c) for c in self.channels.values()],
            "users": [user.payload() for user in self.users.values()],
        }


def _as_id(ref: int | str) -> int | None:
    if isinstance(ref, int):
        return ref
    if isinstance(ref, str) and ref.isdigit():
        return int(ref)
    return None
