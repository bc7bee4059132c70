"""Changes to the world that connected clients and the action feed must hear about.

The REST API (the bot acting), the control API and the in-process helpers
(users acting) all go through ``Operations`` so that every change is
dispatched to the gateway, and every bot action recorded, the same way.
"""

from __future__ import annotations

import time
from typing import Any

from . import errors
from .events import ActionLog
from .gateway import GatewayHub
from .messages import MessageDraft, StoredMessage, Upload
from .models import Channel
from .state import World


class Operations:
    """The emulator's verbs: post, edit, delete, type, open channels."""

    def __init__(self, world: World, hub: GatewayHub, actions: ActionLog):
        self.world = world
        self.hub = hub
        self.actions = actions

    # -- users -----------------------------------------------------------------

    def inject_user_message(
        self,
        content: str,
        *,
        channel: int | str | None = None,
        author: int | str = "alice",
        mention_bot: bool = False,
        reply_to: int | str | None = None,
        dm: bool = False,
    ) -> StoredMessage:
        """Post ``content`` as a user and dispatch MESSAGE_CREATE to the bot.

        ``mention_bot`` prepends a real ``<@bot id>`` mention; ``reply_to``
        makes it a reply (type 19) to that message; ``dm`` posts in the
        author's DM channel with the bot instead of ``channel`` (default "general").
        """
        user = self.world.user(author)
        if user.id == self.world.bot.id:
            raise errors.DiscordError(400, 0, "The bot posts through the REST API, not as an injected user")
        if dm and user.bot:
            raise errors.cannot_message_user()  # Discord has no bot-to-bot DMs
        target = (
            self.world.dm_channel(user) if dm else self.world.channel(channel if channel is not None else "general")
        )
        if target.is_dm and target.recipient_id != user.id:
            raise errors.DiscordError(403, 50001, "Missing Access")
        if mention_bot:
            content = f"<@{self.world.bot.id}> {content}" if content else f"<@{self.world.bot.id}>"
        draft = MessageDraft(target, user, content, reply_to=_optional_id(reply_to))
        message, _ = self.world.messages.create(draft)
        self._dispatch_message("MESSAGE_CREATE", message)
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
        data = {"id": str(message.id), "channel_id": str(channel.id)}
        if not channel.is_dm:
            data["guild_id"] = str(channel.guild_id)
        self.hub.dispatch("MESSAGE_DELETE", data, channel.guild_id)
        self.actions.record("message_delete", channel.id, message.id)

    def bot_typing(self, channel: Channel) -> None:
        data: dict[str, Any] = {
            "channel_id": str(channel.id),
            "user_id": str(self.world.bot.id),
            "timestamp": int(time.time()),
        }
        if not channel.is_dm:
            data["guild_id"] = str(channel.guild_id)
            data["member"] = self.world.member_payload(self.world.bot.id)
        self.hub.dispatch("TYPING_START", data, channel.guild_id)
        self.actions.record("typing", channel.id)

    def note_rate_limited(self, route: str, channel_id: int | None, retry_after: float) -> None:
        """Record a 429 in the action feed, so load tests can count them."""
        self.actions.record("rate_limited", channel_id, route=route, retry_after=retry_after)

    # -- the world -----------------------------------------------------------------

    def create_channel(self, name: str, topic: str | None = None) -> Channel:
        """Add a guild text channel and announce it with CHANNEL_CREATE."""
        channel = self.world.add_text_channel(name, topic)
        self.hub.dispatch("CHANNEL_CREATE", self.world.channel_payload(channel), channel.guild_id)
        return channel

    def _dispatch_message(self, event: str, message: StoredMessage) -> None:
        channel = self.world.channels[message.channel_id]
        self.hub.dispatch(event, message.payload, channel.guild_id)


def _optional_id(value: int | str | None) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        return int(value)
    raise errors.invalid_form_body(
        "message_reference.message_id", "NUMBER_TYPE_COERCE", f'Value "{value}" is not snowflake.'
    )
