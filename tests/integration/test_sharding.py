"""Sharding: an AutoSharded gateway runs the configured shards, paces IDENTIFY, and reports readiness."""

from __future__ import annotations

import asyncio
import time

import pytest

from switchboard.core.metrics import Metrics
from switchboard.core.redis_client import connect_async
from switchboard.core.settings import ServiceSettings
from switchboard.emulator.config import EmulatorConfig
from switchboard.emulator.server import Emulator
from switchboard.gateway import health
from switchboard.gateway.__main__ import build_bot
from switchboard.gateway.settings import GatewaySettings
from switchboard.gateway.sharding import IdentifyGate
from tests.support.discord_bot import point_discord_py_at


async def test_identify_waits_for_the_bucket_lease_shared_by_replicas(redis_url: str) -> None:
    client = connect_async(ServiceSettings(redis_url=redis_url))
    one_bucket = IdentifyGate(client, max_concurrency=1, window_ms=400)
    other_replica = IdentifyGate(client, max_concurrency=1, window_ms=400)
    started = time.monotonic()
    await one_bucket.wait_turn(0)
    await other_replica.wait_turn(1)
    assert time.monotonic() - started >= 0.35
    two_buckets = IdentifyGate(client, max_concurrency=2, window_ms=400)
    started = time.monotonic()
    await two_buckets.wait_turn(2)  # bucket 0 is held above; shard 3 is bucket 1
    await two_buckets.wait_turn(3)
    await client.aclose()


async def test_two_shards_in_one_process_connect_and_are_ready(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    emulator = Emulator(EmulatorConfig(shard_count=2, max_concurrency=2))
    await emulator.start()
    point_discord_py_at(monkeypatch, emulator.url)
    settings = GatewaySettings(redis_url=redis_url, emulator_url=emulator.url, shard_count=2)
    client = connect_async(settings)
    bot = build_bot(settings, client, Metrics())
    runner = asyncio.create_task(bot.start("emulator-token"))
    try:
        await emulator.wait_until_connected(sessions=2, timeout=20)
        await asyncio.wait_for(bot.wait_until_ready(), 20)
        assert health.is_ready(bot)
        assert set(health.shard_states(bot)) == {"0", "1"}
        assert {guild.shard_id for guild in bot.guilds} == {0, 1}
    finally:
        await bot.close()
        await asyncio.gather(runner, return_exceptions=True)
        await emulator.stop()
        await client.aclose()
    assert not health.is_ready(bot)
