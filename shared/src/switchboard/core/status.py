"""Queue depths and ages, read from Redis: what `/status` and the admin API report."""

from __future__ import annotations

import time
from dataclasses import dataclass

import redis.asyncio as aioredis

from switchboard.core.keys import Group, Queue, Stream


@dataclass(frozen=True)
class StreamStatus:
    stream: str
    length: int
    pending: int  # delivered, not yet acknowledged
    lag: int  # not yet delivered to any consumer
    oldest_pending_age_s: float | None
    consumers_active: int  # consumers seen in the last minute


@dataclass(frozen=True)
class QueueStatus:
    streams: tuple[StreamStatus, ...]
    celery_queues: dict[str, int]


async def queue_status(client: aioredis.Redis) -> QueueStatus:
    streams = [await _stream_status(client, Stream.ACTIVATIONS, Group.PLANNERS),
               await _stream_status(client, Stream.REPLIES, Group.GATEWAYS)]
    queues = {queue.value: await client.llen(queue.value) for queue in Queue}
    return QueueStatus(tuple(streams), queues)


async def _stream_status(client: aioredis.Redis, stream: Stream, group: Group) -> StreamStatus:
    if not await client.exists(stream):
        return StreamStatus(stream.value, 0, 0, 0, None, 0)
    groups = {g["name"]: g for g in await client.xinfo_groups(stream)}
    info = groups.get(group.value)
    if info is None:
        return StreamStatus(stream.value, await client.xlen(stream), 0, await client.xlen(stream), None, 0)
    summary = await client.xpending(stream, group)
    oldest = summary.get("min")
    age = time.time() - int(oldest.split("-")[0]) / 1000 if oldest else None
    consumers = await client.xinfo_consumers(stream, group)
    active = sum(1 for c in consumers if c.get("inactive", c.get("idle", 0)) < 60_000)
    return StreamStatus(stream.value, await client.xlen(stream), int(summary["pending"]), int(info.get("lag") or 0),
                        age, active)
