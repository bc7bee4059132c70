"""The planner's side of the `sb:activations` stream: read, take over stuck entries, keep, acknowledge.

Entries are read in the `planners` consumer group. An entry stays pending until its outcome is
written; `XAUTOCLAIM` hands entries idle past a threshold to a live planner, and a live planner
heartbeats its own in-flight entries (`XCLAIM ... JUSTID`) so a long activation is not taken over.
Each claim counts as a delivery (Redis keeps the count per pending entry); a claimed entry carries its
count, so the planner can dead-letter one that no planner has finished in N deliveries.
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
    deliveries: int = 1  # how many times planners were given it, this time included


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
        entries = [_entry(eid, fields) for eid, fields in claimed if fields is not None]
        if not entries:
            return []
        pending = await self._redis.xpending_range(Stream.ACTIVATIONS, Group.PLANNERS, min=entries[0].id,
                                                   max=entries[-1].id, count=len(entries) + 100)
        counts = {item["message_id"]: int(item["times_delivered"]) for item in pending}
        return [Entry(entry.id, entry.raw, counts.get(entry.id, 1)) for entry in entries]

    async def heartbeat(self, entry_ids: list[str]) -> None:
        """Reset the idle time of entries still being worked on, so nobody claims them."""
        if entry_ids:
            await self._redis.xclaim(Stream.ACTIVATIONS, Group.PLANNERS, self._consumer, 0,
                                     entry_ids, justid=True)

    async def ack(self, *entry_ids: str) -> None:
        await self._redis.xack(Stream.ACTIVATIONS, Group.PLANNERS, *entry_ids)

    async def dead_letter(self, entry: Entry, reason: str, activation_id: str | None = None) -> None:
        """Move an entry that can never be processed to `sb:dlq` with its reason and acknowledge it, at once."""
        fields = {STREAM_FIELD: entry.raw or "", "reason": reason, "source": Stream.ACTIVATIONS.value,
                  "entry_id": entry.id, "deliveries": str(entry.deliveries)}
        if activation_id:
            fields["activation_id"] = activation_id
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.xadd(Stream.DEAD_LETTERS, fields)
            pipe.xack(Stream.ACTIVATIONS, Group.PLANNERS, entry.id)
            await pipe.execute()


def _entry(entry_id: str, fields: dict[str, str] | None) -> Entry:
    return Entry(entry_id, (fields or {}).get(STREAM_FIELD))
