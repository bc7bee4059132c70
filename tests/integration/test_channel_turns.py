"""A channel's activations are answered in arrival order, across planners; channels never wait for each other.

Real processes: two planners, a tools worker, and the inference service (real Ray, echo model) started
once the test has seen who waits for whom. Nothing posts replies here: the test removes an activation
from its channel's in-flight set where the gateway would, once the reply is posted.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import redis.asyncio as aioredis

from switchboard.core import keys
from switchboard.core.activation_queue import ActivationQueue
from switchboard.core.keys import Queue
from switchboard.core.wire import Activation, Outcome, Trigger
from switchboard.devstack.redis_server import RedisServer
from switchboard.gateway.busy import ChannelWork
from switchboard.planner.turns import ChannelTurns
from tests.conftest import wait_until
from tests.support.backend import Backend

TURN_TIMEOUT_S = 3
POLL_NEVER_S = 60  # a waiter that only polls would not look again within the test
RING_WITHIN_S = 10


def activation(activation_id: str, channel_id: str) -> Activation:
    return Activation(id=activation_id, trigger=Trigger.MENTION, guild_id="1", channel_id=channel_id,
                      message_id=activation_id, author_id="7", author_name="alice", content=f"turn {activation_id}")


@pytest.fixture(scope="module")
def backend(redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    redis.Redis.from_url(redis_server.url).flushall()
    running = Backend(Path(tmp_path_factory.mktemp("turns")), redis_server.url)
    running.stack.start(timeout=60)
    running.start_planner("turns-a")
    running.start_planner("turns-b")
    yield running
    running.stop()


def started(backend: Backend, activation_id: str) -> bool:
    return bool(backend.redis.exists(keys.journal(activation_id)))


def test_second_message_waits_for_the_first_reply_to_be_posted(backend: Backend) -> None:
    for activation_id, channel in (("7001", "20"), ("7002", "20"), ("7003", "21")):
        backend.enqueue_as_gateway(activation(activation_id, channel))
    # 7001 and 7003 (another channel) both reach the model call, which waits: no inference runs yet.
    wait_until(lambda: backend.redis.llen(Queue.INFERENCE.value) == 2, 30, "two queued model calls")
    assert started(backend, "7001") and started(backend, "7003")
    assert not started(backend, "7002")

    backend.ensure_inference()
    wait_until(lambda: backend.redis.exists(keys.reply_written("7001")), 60, "the first reply")
    assert not started(backend, "7002")  # written is not posted: the channel is still 7001's
    backend.redis.zrem(keys.busy("20"), "7001")  # what the gateway does once 7001's reply is posted

    wait_until(lambda: backend.redis.exists(keys.reply_written("7002")), 60, "the second reply")
    (reply,) = backend.replies_for("7002")
    assert reply.outcome == Outcome.REPLIED and reply.text == "alice: turn 7002"


def test_a_lost_reply_holds_its_channel_only_until_the_turn_timeout(backend: Backend) -> None:
    backend.ensure_inference()
    for planner in backend.planners:
        planner.stop()
    backend.start_planner("turns-c", env={"SWITCHBOARD_CHANNEL_TURN_TIMEOUT_S": str(TURN_TIMEOUT_S)})
    backend.redis.zadd(keys.busy("22"), {"7010": 1.0})  # listed, but its reply will never be posted
    backend.enqueue_as_gateway(activation("7011", "22"))
    wait_until(lambda: backend.redis.exists(keys.reply_written("7011")), TURN_TIMEOUT_S + 30, "the reply")
    assert backend.redis.zscore(keys.busy("22"), "7010") is None
    assert backend.replies_for("7011")[0].outcome == Outcome.REPLIED


async def test_later_names_what_arrived_after_an_activation_in_its_channel(redis_server: RedisServer) -> None:
    client = aioredis.Redis.from_url(redis_server.url, decode_responses=True)
    try:
        queue, turns = ActivationQueue(client, retention_s=60), ChannelTurns(client, timeout_s=60)
        first, second, elsewhere = activation("8001", "30"), activation("8002", "30"), activation("8003", "31")
        for listed in (first, second, elsewhere):
            await queue.enqueue(listed)
        assert await turns.later(first) == "8002"
        assert await turns.later(second) is None
        assert await turns.later(activation("8004", "30")) is None  # not listed: nothing to compare with
    finally:
        await client.aclose()


async def test_a_posted_reply_rings_the_next_waiter_in_without_its_poll(redis_server: RedisServer) -> None:
    client = aioredis.Redis.from_url(redis_server.url, decode_responses=True)
    try:
        queue, work = ActivationQueue(client, retention_s=60), ChannelWork(client, retention_s=60)
        turns = ChannelTurns(client, timeout_s=60, poll_s=POLL_NEVER_S)
        first, second = activation("8101", "40"), activation("8102", "40")
        for listed in (first, second):
            await queue.enqueue(listed)
        waiting = asyncio.create_task(turns.wait(second))
        await asyncio.sleep(0.2)  # the waiter has looked once and now waits
        assert not waiting.done()
        await work.done(first.channel_id, first.id)  # as the gateway does once the first reply is posted
        await asyncio.wait_for(waiting, RING_WITHIN_S)
    finally:
        await client.aclose()
