"""The stream consumer the planners and gateways share, on a real Redis: claiming a dead replica's entries
behind live ones, heartbeats that keep only what is one's own, and dead letters that carry the payload."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest_asyncio
import redis.asyncio as aioredis

from switchboard.core.keys import STREAM_FIELD, Stream
from switchboard.core.stream_consumer import StreamConsumer

STREAM, GROUP = "sb:test-stream", "testers"
IDLE_MS = 200


@pytest_asyncio.fixture
async def client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    connection = aioredis.Redis.from_url(redis_url, decode_responses=True)
    yield connection
    await connection.aclose()


def consumer(client: aioredis.Redis, name: str) -> StreamConsumer:
    return StreamConsumer(client, STREAM, GROUP, name, IDLE_MS)


async def fill(client: aioredis.Redis, count: int) -> None:
    async with client.pipeline(transaction=False) as pipe:
        for n in range(count):
            pipe.xadd(STREAM, {STREAM_FIELD: f'{{"n": {n}}}'})
        await pipe.execute()


async def idle_past_threshold(client: aioredis.Redis, entry_ids: set[str], timeout_s: float = 5.0) -> None:
    """Wait until every entry in `entry_ids` has been idle longer than the claim threshold (Redis's own clock)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        pending = await client.xpending_range(STREAM, GROUP, min="-", max="+", count=10_000)
        if all(p["time_since_delivered"] > IDLE_MS for p in pending if p["message_id"] in entry_ids):
            return
        assert loop.time() < deadline, f"entries not idle past {IDLE_MS} ms within {timeout_s:g} s"
        await asyncio.sleep(0.02)


async def test_a_dead_replicas_entries_behind_a_thousand_live_ones_are_claimed(client: aioredis.Redis) -> None:
    """F13: the scan goes on from where the last claim stopped, so 1000 busy entries at the head hide nothing."""
    live, dead, survivor = consumer(client, "live"), consumer(client, "dead"), consumer(client, "survivor")
    await live.ensure_group()
    await fill(client, 1050)
    busy = [entry.id for entry in await live.read(count=1000, block_ms=0)]
    abandoned = {entry.id for entry in await dead.read(count=50, block_ms=0)}
    await idle_past_threshold(client, abandoned)

    claimed: set[str] = set()
    calls = 0
    while claimed != abandoned and calls < 20:
        await live.heartbeat(busy)  # the live replica is working on its entries
        claimed |= {entry.id for entry in await survivor.claim_idle(count=16)}
        calls += 1
    assert claimed == abandoned, f"{len(claimed)} of 50 after {calls} claims"
    assert calls <= 10  # 1000 / (16 x 10 scanned per call) + the 50 themselves
    assert len(await live.heartbeat(busy)) == 1000  # none of the live replica's was taken


async def test_a_heartbeat_keeps_only_this_consumers_entries_and_counts_no_delivery(client: aioredis.Redis) -> None:
    first, second = consumer(client, "first"), consumer(client, "second")
    await first.ensure_group()
    await fill(client, 2)
    mine, lost = [entry.id for entry in await first.read(count=2, block_ms=0)]
    await idle_past_threshold(client, {lost})
    await first.heartbeat([mine])
    [taken] = await second.claim_idle(count=1)  # after an outage, another replica took the idle one
    assert (taken.id, taken.deliveries) == (lost, 2)

    assert await first.heartbeat([mine, lost]) == [mine]  # the one taken over stays taken over
    owners = {p["message_id"]: (p["consumer"], p["times_delivered"])
              for p in await client.xpending_range(STREAM, GROUP, min="-", max="+", count=10)}
    assert owners == {mine: ("first", 1), lost: ("second", 2)}


async def test_a_dead_letter_carries_the_payload_the_reason_and_the_count(client: aioredis.Redis) -> None:
    stream = consumer(client, "only")
    await stream.ensure_group()
    await fill(client, 1)
    [entry] = await stream.read(count=1, block_ms=0)
    await stream.dead_letter(entry, "undeliverable: Discord answered 400", "a1")
    [(_, letter)] = await client.xrange(Stream.DEAD_LETTERS)
    assert letter == {STREAM_FIELD: '{"n": 0}', "source": STREAM, "reason": "undeliverable: Discord answered 400",
                      "entry_id": entry.id, "activation_id": "a1", "deliveries": "1"}
    assert (await client.xpending(STREAM, GROUP))["pending"] == 0
