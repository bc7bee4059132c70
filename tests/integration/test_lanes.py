"""Lane statistics: the inference side publishes and measures, the planner side reads."""

from __future__ import annotations

import pytest
import redis
import redis.asyncio as aioredis

from switchboard.core import keys
from switchboard.core.lanes import CHAT_ROLE, LaneBoard, LaneRecorder
from switchboard.core.wire import LaneStats
from switchboard.devstack.redis_server import RedisServer

GUESS = LaneStats(lane="local:chat", local=True, capacity=1, time_to_first_token_s=0.5, tokens_per_s=20.0)


@pytest.fixture
def clients(redis_server: RedisServer):
    sync = redis.Redis.from_url(redis_server.url, decode_responses=True)
    sync.delete(keys.LANES)
    return sync, aioredis.Redis.from_url(redis_server.url, decode_responses=True)


async def test_the_first_measurement_replaces_the_guesses_then_averages_move_gently(clients) -> None:
    sync, client = clients
    board, recorder = LaneBoard(client), LaneRecorder(sync, CHAT_ROLE, GUESS)
    assert await board.get(CHAT_ROLE) is None
    recorder.publish()
    assert await board.get(CHAT_ROLE) == GUESS

    recorder.observe(time_to_first_token_s=0.1, tokens=101, generation_s=1.1)  # 100 tokens after the first in 1 s
    first = await board.get(CHAT_ROLE)
    assert first is not None and first.samples == 1
    assert (first.time_to_first_token_s, first.tokens_per_s) == pytest.approx((0.1, 100.0))

    recorder.observe(time_to_first_token_s=0.6, tokens=51, generation_s=1.6)  # 50 tokens/s
    second = await board.get(CHAT_ROLE)
    assert second is not None and second.samples == 2
    assert second.tokens_per_s == pytest.approx(100 + 0.2 * (50 - 100))
    assert second.time_to_first_token_s == pytest.approx(0.1 + 0.2 * 0.5)
    await client.aclose()


async def test_generations_that_say_nothing_about_speed_are_skipped(clients) -> None:
    sync, client = clients
    recorder = LaneRecorder(sync, CHAT_ROLE, GUESS)
    recorder.observe(None, 10, 1.0)  # no token came
    recorder.observe(0.2, 1, 0.2)  # one token: no rate
    assert recorder.stats == GUESS and await LaneBoard(client).get(CHAT_ROLE) is None
    await client.aclose()


async def test_each_publication_carries_the_capacity_admission_sees_now(clients) -> None:
    sync, client = clients
    replicas = [1]
    recorder = LaneRecorder(sync, CHAT_ROLE, GUESS, capacity=lambda: replicas[0] * 2)
    recorder.observe(time_to_first_token_s=0.1, tokens=11, generation_s=0.6)
    replicas[0] = 3  # Serve scaled the role up
    recorder.observe(time_to_first_token_s=0.1, tokens=11, generation_s=0.6)
    stats = await LaneBoard(client).get(CHAT_ROLE)
    assert stats is not None and (stats.capacity, stats.samples) == (6, 2)
    await client.aclose()
