"""Lane slots as leases on a real Redis: a cap across processes, a typed error when full, and a killed
holder's slot coming back once its lease runs out."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time

import pytest
import redis

from switchboard.core import keys
from switchboard.core.errors import LaneBackpressure, LaneFull
from switchboard.core.leases import LaneSlots
from switchboard.devstack.redis_server import RedisServer
from switchboard.tools.registry import Tool, ToolRegistry
from tests.conftest import wait_until


@pytest.fixture
def client(redis_server: RedisServer) -> redis.Redis:
    client = redis.Redis.from_url(redis_server.url)
    client.delete(keys.lane_slots("test"), keys.lane_slots("tools:slow"), keys.lane_waiters("test"),
                  keys.lane_freed("test"))
    return client


def test_a_full_lane_refuses_with_how_many_hold_it_then_admits_when_a_slot_is_given_back(client: redis.Redis) -> None:
    slots = LaneSlots(client)
    with slots.hold("test", 2, ttl_s=30, wait_s=0), slots.hold("test", 2, ttl_s=30, wait_s=0):
        with pytest.raises(LaneFull) as refused, slots.hold("test", 2, ttl_s=30, wait_s=0.2):
            pass
        assert (refused.value.lane, refused.value.holders, refused.value.capacity) == ("test", 2, 2)
        assert refused.value.retryable
    with slots.hold("test", 2, ttl_s=30, wait_s=0):  # both given back
        assert client.zcard(keys.lane_slots("test")) == 1
    assert client.zcard(keys.lane_slots("test")) == 0


def test_a_waiting_caller_gets_the_slot_as_soon_as_it_is_given_back(client: redis.Redis) -> None:
    slots, released = LaneSlots(client), threading.Event()

    def holder() -> None:
        with slots.hold("test", 1, ttl_s=30, wait_s=0):
            released.wait(5)

    thread = threading.Thread(target=holder)
    thread.start()
    wait_until(lambda: client.zcard(keys.lane_slots("test")) == 1, 5, "the first holder")
    threading.Timer(0.3, released.set).start()
    with slots.hold("test", 1, ttl_s=30, wait_s=5):
        assert released.is_set()
    thread.join()


def test_the_wait_is_a_bounded_queue_beyond_which_callers_are_refused_at_once(client: redis.Redis) -> None:
    slots, outcomes = LaneSlots(client), []

    def wait_in_queue() -> None:
        with slots.hold("test", 1, ttl_s=30, wait_s=10, queue_limit=2):
            outcomes.append("ran")

    with slots.hold("test", 1, ttl_s=30, wait_s=0, queue_limit=2):
        waiters = [threading.Thread(target=wait_in_queue) for _ in range(2)]
        for waiter in waiters:
            waiter.start()
        wait_until(lambda: client.zcard(keys.lane_waiters("test")) == 2, 5, "two callers in the queue")
        began = time.monotonic()
        with pytest.raises(LaneBackpressure) as refused, slots.hold("test", 1, ttl_s=30, wait_s=10, queue_limit=2):
            pass
        assert time.monotonic() - began < 1.0  # refused without waiting out its 10 s
        assert (refused.value.lane, refused.value.queued, refused.value.limit) == ("test", 2, 2)
        assert refused.value.code == "lane_backpressure" and refused.value.retryable
    for waiter in waiters:
        waiter.join(10)
    assert outcomes == ["ran", "ran"]  # both queued callers ran once the holder gave its slot back
    assert client.zcard(keys.lane_waiters("test")) == 0


def test_each_slot_given_back_leaves_a_wake_up_for_a_waiter_at_most_capacity_of_them(client: redis.Redis) -> None:
    slots = LaneSlots(client)
    for _ in range(5):
        with slots.hold("test", 2, ttl_s=30, wait_s=0):
            pass
    assert client.lrange(keys.lane_freed("test"), 0, -1) == [b"1", b"1"]  # nobody waited: two stale, harmless
    assert 0 < client.pttl(keys.lane_freed("test")) <= 60_000


def _hold_forever(url: str, ready: multiprocessing.synchronize.Event) -> None:
    with LaneSlots(redis.Redis.from_url(url)).hold("test", 1, ttl_s=1.0, wait_s=0):
        ready.set()
        time.sleep(60)


def test_a_killed_holder_cannot_leak_its_slot(client: redis.Redis, redis_server: RedisServer) -> None:
    ready = multiprocessing.get_context("spawn").Event()
    child = multiprocessing.get_context("spawn").Process(target=_hold_forever, args=(redis_server.url, ready))
    child.start()
    assert ready.wait(30), "the child took its slot"
    os.kill(child.pid, signal.SIGKILL)  # no `finally`, no release: only the lease's end frees the slot
    child.join()
    slots = LaneSlots(client)
    with pytest.raises(LaneFull):
        with slots.hold("test", 1, ttl_s=30, wait_s=0):
            pass
    with slots.hold("test", 1, ttl_s=30, wait_s=5):  # the dead holder's lease ran out (1 s)
        pass


def test_a_capped_tool_runs_at_most_that_many_calls_at_once_across_registries(client: redis.Redis) -> None:
    gate, running = threading.Event(), []

    def slow() -> dict:
        running.append(1)
        gate.wait(5)
        return {"ok": True}

    def slow_tool(timeout_s: float) -> Tool:  # a caller waits for the lane as long as the tool's timeout
        return Tool(name="slow", description="waits", parameters={"type": "object"}, run=slow, timeout_s=timeout_s,
                    max_concurrency=1)

    first, second = (ToolRegistry([slow_tool(timeout)], enabled=["slow"], slots=LaneSlots(client))
                     for timeout in (10.0, 0.5))
    assert first.declarations()[0]["max_concurrency"] == 1
    outcome: list[object] = []
    thread = threading.Thread(target=lambda: outcome.append(first.call("slow", {})))
    thread.start()
    wait_until(lambda: running, 5, "the first call to start")
    with pytest.raises(LaneFull):  # another worker's registry: the lane is shared through Redis
        second.call("slow", {})
    gate.set()
    thread.join()
    assert outcome == [{"ok": True}] and len(running) == 1
