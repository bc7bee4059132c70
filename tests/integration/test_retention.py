"""Streams are trimmed by age, but never past work a consumer group still owes (real Redis)."""

from __future__ import annotations

import asyncio

import redis
import redis.asyncio as aioredis

from switchboard.core.keys import Group, Stream
from switchboard.core.retention import prune_consumers, trim_stream, trim_streams
from tests.conftest import wait_until

DAY_S = 24 * 3600
NOW = 1_900_000_000.0


def at(age_s: float, seq: int = 0) -> str:
    """A stream id from `age_s` seconds before NOW."""
    return f"{int((NOW - age_s) * 1000)}-{seq}"


def test_old_finished_entries_go_and_pending_or_undelivered_ones_stay(redis_url: str) -> None:
    sync = redis.Redis.from_url(redis_url, decode_responses=True)
    for entry_id in (at(9 * DAY_S), at(8 * DAY_S), at(8 * DAY_S, 1), at(2 * DAY_S)):
        sync.xadd(Stream.ACTIVATIONS, {"data": "x"}, id=entry_id)
    sync.xgroup_create(Stream.ACTIVATIONS, Group.PLANNERS, id="0")
    delivered = sync.xreadgroup(Group.PLANNERS, "p1", {Stream.ACTIVATIONS: ">"}, count=3)[0][1]
    sync.xack(Stream.ACTIVATIONS, Group.PLANNERS, delivered[0][0], delivered[2][0])  # the second stays pending

    async def trim() -> int:
        client = aioredis.Redis.from_url(redis_url, decode_responses=True)
        try:
            return await trim_stream(client, Stream.ACTIVATIONS, Group.PLANNERS, 7 * DAY_S, now=NOW)
        finally:
            await client.aclose()

    assert asyncio.run(trim()) == 1  # the oldest: finished and past the retention
    assert [entry_id for entry_id, _ in sync.xrange(Stream.ACTIVATIONS)] == [at(8 * DAY_S), at(8 * DAY_S, 1),
                                                                              at(2 * DAY_S)]
    sync.xack(Stream.ACTIVATIONS, Group.PLANNERS, at(8 * DAY_S))
    assert asyncio.run(trim()) == 2  # now both eight-day-old entries are done
    assert [entry_id for entry_id, _ in sync.xrange(Stream.ACTIVATIONS)] == [at(2 * DAY_S)]


def test_an_undelivered_backlog_outlives_the_retention(redis_url: str) -> None:
    sync = redis.Redis.from_url(redis_url, decode_responses=True)
    for days in (10, 9):
        sync.xadd(Stream.REPLIES, {"data": "x"}, id=at(days * DAY_S))
    sync.xgroup_create(Stream.REPLIES, Group.GATEWAYS, id="0")
    sync.xadd(Stream.DEAD_LETTERS, {"reason": "r"}, id=at(30 * DAY_S))
    sync.xadd(Stream.DEAD_LETTERS, {"reason": "r"}, id=at(1 * DAY_S))

    async def trim() -> dict[str, int]:
        client = aioredis.Redis.from_url(redis_url, decode_responses=True)
        try:
            return await trim_streams(client, 7 * DAY_S, now=NOW)
        finally:
            await client.aclose()

    assert asyncio.run(trim()) == {Stream.ACTIVATIONS.value: 0, Stream.REPLIES.value: 0,
                                   Stream.DEAD_LETTERS.value: 1}
    assert sync.xlen(Stream.REPLIES) == 2  # never delivered to a gateway: kept however old


def test_consumers_of_replicas_long_gone_leave_the_group_unless_they_hold_entries(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    client.xgroup_create(Stream.ACTIVATIONS, Group.PLANNERS, id="0", mkstream=True)
    client.xadd(Stream.ACTIVATIONS, {"data": "{}"})
    client.xreadgroup(Group.PLANNERS, "dead-holding", {Stream.ACTIVATIONS: ">"}, count=1)  # dies holding it
    client.xgroup_createconsumer(Stream.ACTIVATIONS, Group.PLANNERS, "dead-idle")
    client.xgroup_createconsumer(Stream.ACTIVATIONS, Group.PLANNERS, "alive")

    async def prune(idle_s: float) -> list[str]:
        connection = aioredis.Redis.from_url(redis_url, decode_responses=True)
        try:
            return await prune_consumers(connection, Stream.ACTIVATIONS, Group.PLANNERS, idle_s)
        finally:
            await connection.aclose()

    assert asyncio.run(prune(3600)) == []  # nobody idle that long
    wait_until(lambda: {c["name"]: c["idle"] for c in client.xinfo_consumers(Stream.ACTIVATIONS, Group.PLANNERS)}
               ["dead-idle"] > 300, 5, "the dead consumer to be idle")
    client.xadd(Stream.ACTIVATIONS, {"data": "{}"})
    [[_, [(entry_id, _)]]] = client.xreadgroup(Group.PLANNERS, "alive", {Stream.ACTIVATIONS: ">"}, count=1)
    client.xack(Stream.ACTIVATIONS, Group.PLANNERS, entry_id)  # a live replica reads on and finishes its work
    assert asyncio.run(prune(0.2)) == ["dead-idle"]
    assert {c["name"] for c in client.xinfo_consumers(Stream.ACTIVATIONS, Group.PLANNERS)} == {"dead-holding", "alive"}
