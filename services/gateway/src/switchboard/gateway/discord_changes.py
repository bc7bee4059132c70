"""What the gateway does when Discord says a message was deleted or edited, or the bot left or rejoined a guild.

Deletes (one, bulk, or of messages discord.py never cached: the raw events) reach the history, records and
journals through `Redactor`; an activation of a deleted message that is still running is redacted again once
its record is written (looked for every `recheck_s`, up to `recheck_for_s`). Leaving a guild schedules its
purge after the grace; joining it again cancels that.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection, Iterable

from switchboard.core.guild_purge import GuildPurges
from switchboard.core.redaction import Redactor

log = logging.getLogger(__name__)


class DiscordChanges:
    def __init__(self, redactor: Redactor, purges: GuildPurges, recheck_s: float = 5.0,
                 recheck_for_s: float = 600.0) -> None:
        self._redactor = redactor
        self._purges = purges
        self._recheck_s = recheck_s
        self._recheck_for_s = recheck_for_s
        self._rechecks: set[asyncio.Task[None]] = set()

    async def messages_deleted(self, channel_id: str, message_ids: Collection[str]) -> None:
        done = await self._redactor.deleted(channel_id, message_ids)
        log.info("messages deleted in %s: %s", channel_id, done)
        if done.pending:
            task = asyncio.create_task(self._redact_when_recorded(done.pending, frozenset(message_ids)))
            self._rechecks.add(task)
            task.add_done_callback(self._rechecks.discard)

    async def message_edited(self, channel_id: str, message_id: str, content: str) -> None:
        changed = await self._redactor.edited(channel_id, message_id, content)
        log.debug("message %s edited in %s: %d history entries rewritten", message_id, channel_id, changed)

    async def left_guild(self, guild_id: str, channel_ids: Iterable[str]) -> None:
        due = await self._purges.schedule(guild_id, channel_ids)
        log.info("left guild %s: its data is purged at %.0f unless the bot is added back", guild_id, due)

    async def joined_guild(self, guild_id: str) -> None:
        if await self._purges.cancel(guild_id):
            log.info("back in guild %s: its purge is cancelled", guild_id)

    async def close(self) -> None:
        for task in self._rechecks:
            task.cancel()
        await asyncio.gather(*self._rechecks, return_exceptions=True)

    async def _redact_when_recorded(self, activation_ids: list[str], message_ids: frozenset[str]) -> None:
        waiting = set(activation_ids)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._recheck_for_s
        while waiting and loop.time() < deadline:
            await asyncio.sleep(self._recheck_s)
            if ready := await self._redactor.recorded(waiting):
                await self._redactor.redact_records(sorted(ready), message_ids)
                waiting -= ready
