"""The audit stream: every operator action, appended before it takes effect, so an action that fails
half-way is still on record. Bounded by length (approximately), not by age: it is small, and kept long."""

from __future__ import annotations

from collections.abc import Sequence

import redis.asyncio as aioredis

from switchboard.core.keys import STREAM_FIELD, Stream
from switchboard.core.wire import AuditEntry

MAX_ENTRIES = 100_000


class AuditLog:
    def __init__(self, client: aioredis.Redis, max_entries: int = MAX_ENTRIES) -> None:
        self._redis = client
        self._max_entries = max_entries

    async def append(self, entry: AuditEntry) -> str:
        """Append `entry`; returns its stream id."""
        return await self._redis.xadd(Stream.AUDIT, {STREAM_FIELD: entry.to_json()}, maxlen=self._max_entries,
                                      approximate=True)

    async def append_many(self, entries: Sequence[AuditEntry]) -> list[str]:
        """Append `entries` in that order, in one round trip; returns their stream ids."""
        if not entries:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for entry in entries:
                pipe.xadd(Stream.AUDIT, {STREAM_FIELD: entry.to_json()}, maxlen=self._max_entries, approximate=True)
            return await pipe.execute()

    async def latest(self, count: int = 100) -> list[AuditEntry]:
        """The newest entries, newest first."""
        entries = await self._redis.xrevrange(Stream.AUDIT, count=count)
        return [AuditEntry.from_json(fields[STREAM_FIELD]) for _, fields in entries]
