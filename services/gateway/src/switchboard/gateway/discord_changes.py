"""What the gateway does when Discord says a message was deleted or edited, or the bot left or rejoined a guild.

Deletes (one, bulk, or of messages discord.py never cached: the raw events) reach the history, records and
journals through `Redactor` (an activation still running is finished by a planner, see `core.redaction`).
Leaving a guild schedules its purge after the grace; joining it again cancels that.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable

from switchboard.core.guild_purge import GuildPurges
from switchboard.core.redaction import Redactor

log = logging.getLogger(__name__)


class DiscordChanges:
    def __init__(self, redactor: Redactor, purges: GuildPurges) -> None:
        self._redactor = redactor
        self._purges = purges

    async def messages_deleted(self, channel_id: str, message_ids: Collection[str]) -> None:
        done = await self._redactor.deleted(channel_id, message_ids)
        log.info("messages deleted in %s: %s", channel_id, done)

    async def message_edited(self, channel_id: str, message_id: str, content: str) -> None:
        changed = await self._redactor.edited(channel_id, message_id, content)
        log.debug("message %s edited in %s: %d history entries rewritten", message_id, channel_id, changed)

    async def left_guild(self, guild_id: str, channel_ids: Iterable[str]) -> None:
        due = await self._purges.schedule(guild_id, channel_ids)
        log.info("left guild %s: its data is purged at %.0f unless the bot is added back", guild_id, due)

    async def joined_guild(self, guild_id: str) -> None:
        if await self._purges.cancel(guild_id):
            log.info("back in guild %s: its purge is cancelled", guild_id)
