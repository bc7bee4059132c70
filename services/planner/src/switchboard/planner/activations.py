"""The planner's side of the `sb:activations` stream: read, take over stuck entries, keep, acknowledge.

Entries are read in the `planners` consumer group. An entry stays pending until its outcome is
written; `XAUTOCLAIM` hands entries idle past a threshold to a live planner, and a live planner
heartbeats its own in-flight entries (`XCLAIM ... JUSTID`) so a long activation is not taken over.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from switchboard.core.keys import STREAM_FIELD, Group, Stream


@dataclass(frozen=True)
class Entry:
    id: str
    raw: str | None  # None when the entry was deleted while pending


class ActivationStream:
    def __init__(self, client: aioredis.Redis, consumer: str, claim_idle_ms: int) -> None:
        self._redis = client
        self._consumer = consumer
        self._claim_idle_ms = claim_idle_ms

    async def ensure_group(self) -> None:
        try:
            await self._redis.xgroup_create(Stream.ACTIVATIONS, Group.PLANNERS, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def read(self, count: int, block_ms: int) -> list[Entry]:
        """New entries for this consumer (blocks up to `block_ms`)."""
        reply = await self._redis.xreadgroup(
            Group.PLANNERS, self._consumer, {Stream.ACTIVATIONS: ">"}, count=count, block=block_ms)
        return [_entry(eid, fields) for _, entries in reply or [] for eid, fields in entries]

    async def claim_stuck(self, count: int) -> list[Entry]:
        """Entries pending on any consumer for longer than the idle threshold, now ours."""
        _next, claimed, deleted = await self._redis.xautoclaim(
            Stream.ACTIVATIONS, Group.PLANNERS, self._consumer, self._claim_idle_ms, "0-0", count=count)
        if deleted:
            await self.ack(*deleted)
        return [_entry(eid, fields) for eid, fields in claimed if fields is not None]

    async def heartbeat(self, entry_ids: list[str]) -> None:
        """Reset the idle time of entries still being worked on, so nobody claims them."""
        if entry_ids:
            await self._redis.xclaim(Stream.ACTIVATIONS, Group.PLANNERS, self._consumer, 0,
                                     entry_ids, justid=True)

    async def ack(self, *entry_ids: str) -> None:
        await self._redis.xack(Stream.ACTIVATIONS, Group.PLANNERS, *entry_ids)

    async def dead_letter(self, entry: Entry, reason: str) -> None:
        """Move an entry that can never be processed to `sb:dlq` with its reason, then acknowledge it."""
        await self._redis.xadd(Stream.DEAD_LETTERS, {
            STREAM_FIELD: entry.raw or "", "reason": reason, "source": Stream.ACTIVATIONS.value,
            "entry_id": entry.id})
        await self.ack(entry.id)


def _entry(entry_id: str, fields: dict[str, str] | None) -> Entry:
    return Entry(entry_id, (fields or {}).get(STREAM_FIELD))
