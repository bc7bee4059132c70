"""Read-outs operators ask for, shared by the admin API and the CLI: queues, lanes, callsystems."""

from __future__ import annotations

import time

import redis.asyncio as aioredis
from pydantic import BaseModel

from switchboard.core import keys
from switchboard.core.keys import Stream
from switchboard.core.plugins import CallsystemRegistry
from switchboard.core.status import queue_status
from switchboard.core.wire import LaneStats


class StreamDepth(BaseModel):
    stream: str
    length: int
    pending: int  # delivered, not acknowledged
    lag: int  # not yet delivered
    oldest_pending_age_s: float | None
    consumers_active: int


class Queues(BaseModel):
    streams: list[StreamDepth]
    celery: dict[str, int]  # queue -> tasks waiting
    dead_letters: int


class Lane(BaseModel):
    lane: str
    in_use: int  # live slot leases
    waiting: int  # callers queued for a slot
    capacity: int | None = None  # from the role's published stats (None: a lane that publishes none)
    role: str | None = None
    time_to_first_token_s: float | None = None
    tokens_per_s: float | None = None


class CallsystemInfo(BaseModel):
    key: str  # package_id@version
    package_id: str
    version: str
    release_date: str
    capabilities: list[str]
    tools: list[str]
    summary: str


async def queues(client: aioredis.Redis) -> Queues:
    status = await queue_status(client)
    return Queues(streams=[StreamDepth(**vars(stream)) for stream in status.streams], celery=status.celery_queues,
                  dead_letters=await client.xlen(Stream.DEAD_LETTERS))


async def lanes(client: aioredis.Redis) -> list[Lane]:
    """Every lane with slots or waiters now, and every role lane the inference service published."""
    published = {role: LaneStats.from_json(raw) for role, raw in (await client.hgetall(keys.LANES)).items()}
    stats = {lane_stats.lane: (role, lane_stats) for role, lane_stats in published.items()}
    names = set(stats)
    for key_of in (keys.lane_slots, keys.lane_waiters):
        prefix = key_of("")
        names |= {key.removeprefix(prefix) async for key in client.scan_iter(match=key_of("*"), count=200)}
    now = time.time()
    found = []
    for name in sorted(names):
        role, lane_stats = stats.get(name, (None, None))
        found.append(Lane(
            lane=name, role=role, in_use=await client.zcount(keys.lane_slots(name), now, "+inf"),
            waiting=await client.zcount(keys.lane_waiters(name), now, "+inf"),
            capacity=lane_stats.capacity if lane_stats else None,
            time_to_first_token_s=lane_stats.time_to_first_token_s if lane_stats else None,
            tokens_per_s=lane_stats.tokens_per_s if lane_stats else None))
    return found


def callsystems(registry: CallsystemRegistry) -> list[CallsystemInfo]:
    return [CallsystemInfo(key=cls.key(), package_id=cls.package_id, version=cls.version,
                           release_date=cls.release_date.isoformat(), capabilities=sorted(cls.capabilities),
                           tools=sorted(cls.tools), summary=(cls.__doc__ or "").strip().split("\n")[0])
            for cls in registry.plugins()]
