"""One consumer of a Redis stream in a consumer group: what the planners (`sb:activations`) and the gateways
(`sb:replies`) share.

- `read` takes new entries; an entry stays pending until `ack` (or `dead_letter`).
- `claim_idle` takes entries idle longer than `claim_idle_ms` on any consumer (a dead replica's). `XAUTOCLAIM`
  looks at only about ten times COUNT pending entries per call, so the cursor it returns is kept and the next
  call goes on from there: entries of live consumers at the head of the pending list cannot hide a dead
  replica's entries behind them. The cursor starts over once it has gone round.
- Every entry carries its delivery count (Redis counts each read and claim); a caller dead-letters one past
  its limit.
- `heartbeat` keeps this consumer's own entries from looking idle, and only its own: an entry another replica
  took over (after an outage, say) stays theirs, and its delivery count is not raised.
- `dead_letter` moves an entry to `sb:dlq` with its payload, a typed reason and its delivery count, and
  acknowledges it, in one transaction. Every writer of `sb:dlq` uses these fields (`DeadLetterFields`).
"""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from switchboard.core.keys import STREAM_FIELD, Stream

START = "0-0"

# Reset the idle time of the entries (ARGV[3..]) that consumer ARGV[2] still owns in group ARGV[1]; returns them.
_HEARTBEAT_OWN = """
local owned = {}
for i = 3, #ARGV do
  local found = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)
  if found[1] and found[1][2] == ARGV[2] then table.insert(owned, ARGV[i]) end
end
if #owned > 0 then
  local claim = {KEYS[1], ARGV[1], ARGV[2], 0}
  for _, id in ipairs(owned) do table.insert(claim, id) end
  table.insert(claim, 'JUSTID')  -- a heartbeat is not a delivery
  redis.call('XCLAIM', unpack(claim))
end
return owned
"""


@dataclass(frozen=True)
class Entry:
    id: str
    raw: str | None  # None when the entry was deleted while pending
    deliveries: int = 1  # how many times consumers were given it, this time included


@dataclass(frozen=True)
class DeadLetterFields:
    """What every `sb:dlq` entry carries (the admin API's `DeadLetter` reads these)."""

    source: str  # the stream it left, or `step:<hop>`
    reason: str  # `<code>: <detail>`
    entry_id: str | None = None
    activation_id: str | None = None
    deliveries: int | None = None
    payload: str = ""  # the original entry's JSON

    def fields(self) -> dict[str, str]:
        found = {STREAM_FIELD: self.payload, "source": self.source, "reason": self.reason[:1000]}
        optional = {"entry_id": self.entry_id, "activation_id": self.activation_id,
                    "deliveries": None if self.deliveries is None else str(self.deliveries)}
        return found | {name: value for name, value in optional.items() if value is not None}


class StreamConsumer:
    def __init__(self, client: aioredis.Redis, stream: str, group: str, consumer: str, claim_idle_ms: int) -> None:
        self._redis = client
        self.stream, self.group, self.consumer = stream, group, consumer
        self._claim_idle_ms = claim_idle_ms
        self._cursor = START
        self._heartbeat = client.register_script(_HEARTBEAT_OWN)

    async def ensure_group(self) -> None:
        try:
            await self._redis.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def read(self, count: int, block_ms: int) -> list[Entry]:
        """New entries for this consumer (blocks up to `block_ms`)."""
        reply = await self._redis.xreadgroup(self.group, self.consumer, {self.stream: ">"}, count=count,
                                             block=block_ms)
        return [_entry(eid, fields) for _, entries in reply or [] for eid, fields in entries]

    async def claim_idle(self, count: int) -> list[Entry]:
        """Entries idle past the threshold on any consumer, now ours, each with its delivery count; the scan
        goes on from where the last call stopped. Entries deleted while pending are acknowledged."""
        self._cursor, claimed, deleted = await self._redis.xautoclaim(
            self.stream, self.group, self.consumer, self._claim_idle_ms, self._cursor, count=count)
        if deleted:
            await self.ack(*deleted)
        entries = [_entry(eid, fields) for eid, fields in claimed if fields is not None]
        if not entries:
            return []
        pending = await self._redis.xpending_range(self.stream, self.group, min=entries[0].id, max=entries[-1].id,
                                                   count=len(entries) + 100, consumername=self.consumer)
        counts = {item["message_id"]: int(item["times_delivered"]) for item in pending}
        return [Entry(entry.id, entry.raw, counts.get(entry.id, 1)) for entry in entries]

    async def heartbeat(self, entry_ids: list[str]) -> list[str]:
        """Keep this consumer's own entries among `entry_ids` from looking idle; returns those still its own."""
        if not entry_ids:
            return []
        return list(await self._heartbeat(keys=[self.stream], args=[self.group, self.consumer, *entry_ids]))

    async def ack(self, *entry_ids: str) -> None:
        await self._redis.xack(self.stream, self.group, *entry_ids)

    async def dead_letter(self, entry: Entry, reason: str, activation_id: str | None = None) -> None:
        """Move an entry that can never be processed to `sb:dlq` with its payload and reason, and acknowledge it."""
        letter = DeadLetterFields(source=self.stream, reason=reason, entry_id=entry.id, activation_id=activation_id,
                                  deliveries=entry.deliveries, payload=entry.raw or "")
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.xadd(Stream.DEAD_LETTERS, letter.fields())
            pipe.xack(self.stream, self.group, entry.id)
            await pipe.execute()


def _entry(entry_id: str, fields: dict[str, str] | None) -> Entry:
    return Entry(entry_id, (fields or {}).get(STREAM_FIELD))
