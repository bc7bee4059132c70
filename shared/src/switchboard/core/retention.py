"""Keeping streams by age: entries older than the retention leave, but never one that is still owed work.

`trim_stream` computes a `MINID` below which everything may go: the retention cutoff, lowered to the
oldest entry the consumer group still has pending (delivered, not acknowledged) and to the first entry it
has not been given yet. So an outage longer than the retention loses nothing: the backlog stays until it
is processed, and only then ages out. A stream without the group (none made it yet) is left alone.
Records, journals and blobs expire by their own TTLs; this is for the streams, which have none.

Consumers leave the groups too: every replica that ever ran is a consumer (named for its host and process), so
a fleet that restarts for months would otherwise keep thousands. A consumer with nothing pending, idle longer
than `consumer_idle_s`, is deleted (`prune_consumers`); one that died holding entries stays until another
replica has claimed them. Pruning a live replica that has had nothing to read is harmless: it holds nothing, and
its next read makes it a consumer again.
"""

from __future__ import annotations

import time

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from switchboard.core.keys import Group, Stream

StreamId = tuple[int, int]
DEFAULT_CONSUMER_IDLE_S = 24 * 3600  # far longer than any pause of a live replica

# What each stream's retention is guarded by: the group whose unfinished work must stay (None: nobody's).
TRIMMED: tuple[tuple[Stream, Group | None], ...] = (
    (Stream.ACTIVATIONS, Group.PLANNERS), (Stream.REPLIES, Group.GATEWAYS), (Stream.DEAD_LETTERS, None))


async def trim_streams(client: aioredis.Redis, max_age_s: float, now: float | None = None) -> dict[str, int]:
    """Trim every stream in `TRIMMED`; returns how many entries each lost."""
    return {stream.value: await trim_stream(client, stream, group, max_age_s, now) for stream, group in TRIMMED}


async def prune_consumers(client: aioredis.Redis, stream: str, group: str, idle_s: float) -> list[str]:
    """Delete the consumers of `group` that hold nothing and were idle longer than `idle_s`; returns their names."""
    try:
        consumers = await client.xinfo_consumers(stream, group)
    except ResponseError:  # no such stream or group yet
        return []
    gone = [c["name"] for c in consumers if c["pending"] == 0 and c["idle"] > idle_s * 1000]
    for name in gone:
        await client.xgroup_delconsumer(stream, group, name)
    return gone


async def trim_stream(client: aioredis.Redis, stream: str, group: str | None, max_age_s: float,
                      now: float | None = None) -> int:
    """Drop entries older than `max_age_s`, keeping whatever `group` has not finished; returns how many went."""
    floor: StreamId = (int(((now or time.time()) - max_age_s) * 1000), 0)
    if group is not None:
        try:
            groups = {info["name"]: info for info in await client.xinfo_groups(stream)}
        except ResponseError:  # no such stream
            return 0
        if group not in groups:
            return 0
        delivered = _parse(groups[group]["last-delivered-id"])
        floor = min(floor, (delivered[0], delivered[1] + 1))
        oldest_pending = (await client.xpending(stream, group)).get("min")
        if oldest_pending:
            floor = min(floor, _parse(oldest_pending))
    return await client.xtrim(stream, minid=f"{floor[0]}-{floor[1]}", approximate=False)


def _parse(entry_id: str | bytes) -> StreamId:
    text = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    ms, _, seq = text.partition("-")
    return int(ms), int(seq or 0)


class StreamJanitor:
    """Trims the streams at most every `interval_s`; `tick` is called from a service's maintenance loop."""

    def __init__(self, client: aioredis.Redis, max_age_s: float, interval_s: float,
                 consumer_idle_s: float = DEFAULT_CONSUMER_IDLE_S) -> None:
        self._redis = client
        self._max_age_s = max_age_s
        self._interval_s = interval_s
        self._consumer_idle_s = consumer_idle_s
        self._next = 0.0

    async def tick(self) -> dict[str, int]:
        """Trim and prune if it is time; returns what each stream lost (empty when it was not time)."""
        if time.monotonic() < self._next:
            return {}
        self._next = time.monotonic() + self._interval_s
        for stream, group in TRIMMED:
            if group is not None:
                await prune_consumers(self._redis, stream, group, self._consumer_idle_s)
        return await trim_streams(self._redis, self._max_age_s)
