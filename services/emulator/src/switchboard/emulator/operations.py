"""Changes to the world that connected clients and the action feed must hear about.

The REST API (the bot acting), the control API and the in-process helpers
(users acting) all go through ``Operations`` so that every change is
dispatched to the gateway, and every bot action recorded, the same way.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from . import errors
from .events import ActionLog
from .gateway import GatewayHub
from .messages import MessageDraft, StoredMessage, Upload
from .models import Channel, Guild, User
from .reactions import parse_emoji
from .state import World
from .threads import Thread

# Messages one bulk injection may post: a flood for a benchmark, bounded so one request cannot exhaust memory.
MAX_BULK_MESSAGES = 50_000
# Messages one bulk deletion may remove, as Discord's bulk-delete allows.
MAX_BULK_DELETE = 100


class Operations:
    """The emulator's verbs: post, edit, delete, type, react, open channels and threads, and take the bot
    out of a guild or add it back."""

    def __init__(self, world: World, hub: GatewayHub, actions: ActionLog):
        self.world = world
        self.hub = hub
        self.actions = actions

    # -- users and moderators ------------------------------------------------------

    def inject_user_message(
        self,
        content: str,
        *,
        channel: int | str | None = None,
        author: int | str = "alice",
        mention_bot: bool = False,
        reply_to: int | str | None = None,
        dm: bool = False,
        attachments: list[Upload] | None = None,
    ) -> StoredMessage:
        """Post ``content`` as a user and dispatch MESSAGE_CREATE to the bot.

        ``mention_bot`` prepends a real ``<@bot id>`` mention; ``reply_to``
        makes it a reply (type 19) to that message; ``dm`` posts in the
        author's DM channel with the bot instead of ``channel`` (default
        "general", which may be a thread); ``attachments`` are served by the
        emulator at each attachment's ``url``. The author must be a member of
        the channel's guild (403 Missing Access otherwise).
        """
        user, target = self._poster(author, channel, dm)
        return self._post_as(user, target, self._mentioned(content, mention_bot), _optional_id(reply_to),
                             list(attachments or []))

    def inject_user_messages(
        self,
        content: str,
        count: int,
        *,
        channels: Sequence[int | str] = ("general",),
        author: int | str = "alice",
        mention_bot: bool = False,
    ) -> list[StoredMessage]:
        """Post ``count`` messages of ``content`` as a user, round robin over ``channels``, each dispatched as
        MESSAGE_CREATE in order (a flood for load tests).

        Everything is checked before the first message is posted: a ``count`` outside
        ``1..MAX_BULK_MESSAGES`` or no channels raise 400 (50035), an unknown channel 404, an author who
        may not post there 403, as ``inject_user_message`` would.
        """
        if not 1 <= count <= MAX_BULK_MESSAGES:
            raise errors.invalid_form_body("count", "NUMBER_TYPE_MAX", f"Must be between 1 and {MAX_BULK_MESSAGES}.")
        if not channels:
            raise errors.invalid_form_body("channel_ids", "BASE_TYPE_REQUIRED", "At least one channel is required.")
        posters = [self._poster(author, channel, dm=False) for channel in channels]
        content = self._mentioned(content, mention_bot)
        return [self._post_as(*posters[i % len(posters)], content, None, []) for i in range(count)]

    def _poster(self, author: int | str, channel: int | str | None, dm: bool) -> tuple[User, Channel]:
        """The user posting and the channel they post in; raises if they may not post there."""
        user = self.world.user(author)
        if user.id == self.world.bot.id:
            raise errors.DiscordError(400, 0, "The bot posts through the REST API, not as an injected user")
        if dm and user.bot:
            raise errors.cannot_message_user()  # Discord has no bot-to-bot DMs
        target = (
            self.world.dm_channel(user) if dm else self.world.channel(channel if channel is not None else "general")
        )
        if target.is_dm and target.recipient_id != user.id:
            raise errors.missing_access()
        guild = self.world.guild_of(target)
        if guild is not None and user.id not in guild.members:
            raise errors.missing_access()
        return user, target

    def _mentioned(self, content: str, mention_bot: bool) -> str:
        """``content`` with a real ``<@bot id>`` mention in front when ``mention_bot``."""
        if not mention_bot:
            return content
        return f"<@{self.world.bot.id}> {content}" if content else f"<@{self.world.bot.id}>"

    def _post_as(
        self, user: User, target: Channel, content: str, reply_to: int | None, uploads: list[Upload]
    ) -> StoredMessage:
        draft = MessageDraft(target, user, content, reply_to=reply_to, uploads=uploads)
        message, _ = self.world.messages.create(draft)
        if isinstance(target, Thread):
            target.join(user.id)
        self._dispatch_message("MESSAGE_CREATE", message)
        return message

    def redeliver(self, message_id: int) -> StoredMessage:
        """Dispatch a stored user message's MESSAGE_CREATE again, as Discord may: gateway delivery is at least
        once (a RESUME replays what the client may have missed, and a new session can see it again)."""
        message = self._stored(message_id)
        self._dispatch_message("MESSAGE_CREATE", message)
        return message

    def user_edit_message(self, message_id: int, content: str) -> StoredMessage:
        """A user message's author changes its content; dispatched as MESSAGE_UPDATE with the whole message
        (new ``content``, ``edited_timestamp``, mentions), as Discord sends content edits.

        404 Unknown Message if it is not stored; 400 for the bot's own messages (the bot edits through
        the REST API) and for content a user could not post (not a string, too long, or leaving the
        message empty).
        """
        message = self._stored(message_id)
        if message.author_id == self.world.bot.id:
            raise errors.DiscordError(400, 0, "The bot edits its messages through the REST API, not as a user")
        if not isinstance(content, str):
            raise errors.invalid_form_body("content", "BASE_TYPE_STRING", "Must be a string.")
        self.world.messages.edit_message(message, self.world.users[message.author_id], {"content": content}, [])
        self._dispatch_message("MESSAGE_UPDATE", message)
        return message

    def user_delete_message(self, message_id: int) -> StoredMessage:
        """Its author or a moderator deletes a stored message (the bot's too); dispatched as MESSAGE_DELETE
        ``{"id", "channel_id", "guild_id"?}``.

        404 Unknown Message if it is not stored; in a DM, where there are no moderators, the bot's own
        messages cannot be deleted by the user (403 50003).
        """
        message = self._stored(message_id)
        channel = self.world.channels[message.channel_id]
        if channel.is_dm and message.author_id == self.world.bot.id:
            raise errors.cannot_execute_on_dm()
        self.world.messages.remove(message)
        self.hub.dispatch("MESSAGE_DELETE", _deletion(channel, id=str(message.id)), channel.guild_id)
        return message

    def user_bulk_delete(self, channel_ref: int | str, message_ids: Sequence[int]) -> list[StoredMessage]:
        """A moderator deletes several messages of one guild channel (or thread) at once; dispatched as one
        MESSAGE_DELETE_BULK ``{"ids", "channel_id", "guild_id"}``, ids in the order given.

        Everything is checked before anything is deleted: 1..MAX_BULK_DELETE distinct ids or 400
        (50035), a DM channel 403 (50003), an unknown channel 404 (10003), an id that is not a message
        of that channel 404 (10008).
        """
        channel = self.world.channel(channel_ref)
        if not 1 <= len(message_ids) <= MAX_BULK_DELETE:
            raise errors.invalid_form_body("ids", "BASE_TYPE_BAD_LENGTH", f"Must be between 1 and {MAX_BULK_DELETE}.")
        if len(set(message_ids)) != len(message_ids):
            raise errors.invalid_form_body("ids", "BASE_TYPE_DUPLICATES", "Must not contain duplicates.")
        if channel.is_dm:
            raise errors.cannot_execute_on_dm()
        messages = [self.world.messages.get(channel.id, message_id) for message_id in message_ids]
        for message in messages:
            self.world.messages.remove(message)
        ids = [str(message.id) for message in messages]
        self.hub.dispatch("MESSAGE_DELETE_BULK", _deletion(channel, ids=ids), channel.guild_id)
        return messages

    def _stored(self, message_id: int) -> StoredMessage:
        """A stored channel message (not an ephemeral one); 404 Unknown Message otherwise."""
        message = self.world.messages.find(message_id)
        if message is None:
            raise errors.unknown_message()
        return message

    # -- the bot -------------------------------------------------------------------

    def bot_create_message(self, draft: MessageDraft) -> tuple[StoredMessage, bool]:
        """Store the bot's message; dispatch and record it unless the nonce matched an earlier one."""
        message, created = self.world.messages.create(draft)
        if created:
            self._dispatch_message("MESSAGE_CREATE", message)
            reference = message.payload.get("message_reference", {})
            self.actions.record(
                "message_create",
                message.channel_id,
                message.id,
                message.payload["content"],
                reply_to=reference.get("message_id"),
            )
        return message, created

    def bot_edit_message(
        self, channel: Channel, message_id: int, changes: dict[str, Any], uploads: list[Upload]
    ) -> StoredMessage:
        message = self.world.messages.edit(channel.id, message_id, self.world.bot, changes, uploads)
        self._dispatch_message("MESSAGE_UPDATE", message)
        self.actions.record("message_edit", channel.id, message.id, message.payload["content"])
        return message

    def bot_delete_message(self, channel: Channel, message_id: int) -> None:
        message = self.world.messages.delete(channel.id, message_id, self.world.bot)
        self.hub.dispatch("MESSAGE_DELETE", _deletion(channel, id=str(message.id)), channel.guild_id)
        self.actions.record("message_delete", channel.id, message.id)

    def bot_typing(self, channel: Channel) -> None:
        data: dict[str, Any] = {
            "channel_id": str(channel.id),
            "user_id": str(self.world.bot.id),
            "timestamp": int(time.time()),
        }
        if not channel.is_dm:
            data["guild_id"] = str(channel.guild_id)
            data["member"] = self.world.member_payload(self.world.bot.id, channel.guild_id)
        self.hub.dispatch("TYPING_START", data, channel.guild_id)
        self.actions.record("typing", channel.id)

    def bot_react(self, channel: Channel, message_id: int, raw_emoji: str, *, add: bool) -> bool:
        """The bot adds (or removes) its reaction; dispatched and recorded when something changed.

        Recorded as ``reaction_add``/``reaction_remove`` with the emoji and
        whether it ``changed`` anything (adding twice, or removing a reaction
        that is not there, succeeds without a change, as on Discord).
        """
        message = self.world.messages.get(channel.id, message_id)
        emoji = parse_emoji(raw_emoji)
        changed = self.world.messages.react(message, emoji, self.world.bot.id, add=add)
        if changed:
            data: dict[str, Any] = {
                "user_id": str(self.world.bot.id),
                "channel_id": str(channel.id),
                "message_id": str(message.id),
                "emoji": emoji.payload(),
                "burst": False,
                "type": 0,
            }
            if not channel.is_dm:
                data["guild_id"] = str(channel.guild_id)
            if add:
                data["message_author_id"] = str(message.author_id)
                data["burst_colors"] = []
                if not channel.is_dm:
                    data["member"] = self.world.member_payload(self.world.bot.id, channel.guild_id)
            self.hub.dispatch("MESSAGE_REACTION_ADD" if add else "MESSAGE_REACTION_REMOVE", data, channel.guild_id)
        kind = "reaction_add" if add else "reaction_remove"
        self.actions.record(
            kind, channel.id, message.id, emoji=emoji.name, emoji_id=emoji.payload()["id"], changed=changed
        )
        return changed

    def note_rate_limited(self, route: str, channel_id: int | None, retry_after: float) -> None:
        """Record a 429 in the action feed, so load tests can count them."""
        self.actions.record("rate_limited", channel_id, route=route, retry_after=retry_after)

    def note_fault(self, channel_id: int | None, **details: Any) -> None:
        """Record an injected failure (``fault_injected``) in the action feed."""
        self.actions.record("fault_injected", channel_id, **details)

    # -- the world -----------------------------------------------------------------

    def create_channel(self, name: str, topic: str | None = None, guild: int | str | None = None) -> Channel:
        """Add a text channel to ``guild`` (default: the primary guild) and announce it with CHANNEL_CREATE."""
        guild_id = self.world.find_guild(guild).id if guild is not None else None
        channel = self.world.add_text_channel(name, topic, guild_id)
        self.hub.dispatch("CHANNEL_CREATE", self.world.channel_payload(channel), channel.guild_id)
        return channel

    def create_thread(
        self, parent: int | str, name: str, owner: int | str = "alice", auto_archive_duration: int = 1440
    ) -> Thread:
        """A user starts a public thread in the text channel ``parent``; dispatched as THREAD_CREATE."""
        user = self.world.user(owner)
        thread = self.world.add_thread(self.world.channel(parent), name, user, auto_archive_duration)
        data = {**self.world.channel_payload(thread), "newly_created": True}
        self.hub.dispatch("THREAD_CREATE", data, thread.guild_id)
        return thread

    def remove_bot_from_guild(self, guild: int | str) -> tuple[Guild, int]:
        """The bot is removed (kicked) from ``guild`` (id or name): GUILD_DELETE goes to the sessions that
        saw it, and until it is added back the guild's events no longer reach the bot (interactions
        aside: the app's commands stay) and its REST routes answer 403 Missing Access.

        Returns the guild and how many sessions were told; 404 if no such guild or the bot is not in it.
        """
        removed = self.world.remove_bot(guild)
        return removed, self.hub.withdraw_guild(removed)

    def add_bot_to_guild(self, guild: int | str) -> tuple[Guild, int]:
        """The bot is added (back) to ``guild``: announced with GUILD_CREATE as a join, its events flow again.

        Returns the guild and how many sessions were told; 404 if no such guild, 400 if the bot is in it.
        """
        added = self.world.add_bot(guild)
        return added, self.hub.announce_guild(added)

    def _dispatch_message(self, event: str, message: StoredMessage) -> None:
        channel = self.world.channels[message.channel_id]
        self.hub.dispatch(event, message.payload, channel.guild_id)


def _deletion(channel: Channel, **ids: Any) -> dict[str, Any]:
    """A MESSAGE_DELETE(_BULK) payload: ``ids`` then ``channel_id``, and ``guild_id`` outside DMs."""
    data: dict[str, Any] = {**ids, "channel_id": str(channel.id)}
    if not channel.is_dm:
        data["guild_id"] = str(channel.guild_id)
    return data


def _optional_id(value: int | str | None) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        return int(value)
    raise errors.invalid_form_body(
        "message_reference.message_id", "NUMBER_TYPE_COERCE", f'Value "{value}" is not snowflake.'
    )
