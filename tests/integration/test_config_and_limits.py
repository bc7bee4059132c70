"""Guild/channel config and activation rate limits against a real Redis."""

from __future__ import annotations

import asyncio

from switchboard.core import keys
from switchboard.core.activation_queue import ActivationQueue
from switchboard.core.config import ChannelConfig, ChannelMode, ConfigPatch, ConfigStore, DoubleTexting, RateLimit
from switchboard.core.keys import Group, Stream
from switchboard.core.redis_client import connect_async
from switchboard.core.settings import ServiceSettings
from switchboard.core.wire import Activation, Trigger
from switchboard.gateway.busy import ChannelWork
from switchboard.gateway.throttle import ActivationLimiter


async def test_channel_overrides_guild_and_threads_inherit_their_parent(redis_url: str) -> None:
    client = connect_async(ServiceSettings(redis_url=redis_url))
    store = ConfigStore(client)
    assert await store.resolve("g1", "c1") == ChannelConfig()
    await store.update_guild("g1", ConfigPatch(channel_mode=ChannelMode.ALLOW_LIST, channels=("c1",),
                                               keywords=("help",)))
    await store.update_channel("c1", ConfigPatch(silent=True, double_texting=DoubleTexting.REJECT))
    channel = await store.resolve("g1", "c1")
    assert (channel.channel_mode, channel.silent, channel.keywords) == (ChannelMode.ALLOW_LIST, True, ("help",))
    thread = await store.resolve("g1", "t1", parent_id="c1")
    assert thread.silent and thread.double_texting == DoubleTexting.REJECT
    await store.update_channel("t1", ConfigPatch(silent=False))
    assert (await store.resolve("g1", "t1", parent_id="c1")).silent is False
    other = await store.resolve("g1", "c2")
    assert other.silent is False and other.keywords == ("help",)
    await client.aclose()


async def test_concurrent_updates_both_land(redis_url: str) -> None:
    client = connect_async(ServiceSettings(redis_url=redis_url))
    store = ConfigStore(client)
    await asyncio.gather(store.update_channel("c1", ConfigPatch(silent=True)),
                         store.update_channel("c1", ConfigPatch(persona="pirate")))
    config = await store.resolve(None, "c1")
    assert config.silent and config.persona == "pirate"
    await client.aclose()


async def test_bucket_admits_capacity_then_notifies_once(redis_url: str) -> None:
    client = connect_async(ServiceSettings(redis_url=redis_url))
    limiter = ActivationLimiter(client)
    five_a_minute, roomy = RateLimit(capacity=5, per_seconds=60), RateLimit(capacity=100, per_seconds=60)
    results = [await limiter.admit("u1", "g1", five_a_minute, roomy) for _ in range(100)]
    assert sum(r.allowed for r in results) == 5
    assert sum(r.notify for r in results) == 1
    throttled = next(r for r in results if not r.allowed)
    assert throttled.scope == "user" and 0 < throttled.retry_after_s <= 12
    # Another user in the same guild is not affected, and the guild bucket counts both.
    assert (await limiter.admit("u2", "g1", five_a_minute, roomy)).allowed
    await client.aclose()


async def test_guild_bucket_throttles_everyone_and_takes_no_user_token(redis_url: str) -> None:
    client = connect_async(ServiceSettings(redis_url=redis_url))
    limiter = ActivationLimiter(client)
    roomy, tight_guild = RateLimit(capacity=100, per_seconds=60), RateLimit(capacity=3, per_seconds=60)
    admitted = [await limiter.admit(f"u{i}", "g1", roomy, tight_guild) for i in range(6)]
    assert [a.allowed for a in admitted] == [True, True, True, False, False, False]
    assert admitted[3].scope == "guild" and [a.notify for a in admitted[3:]] == [True, False, False]
    assert (await limiter.admit("u9", "g2", roomy, tight_guild)).allowed
    await client.aclose()


async def test_merge_spares_started_activations_interrupt_does_not(redis_url: str) -> None:
    client = connect_async(ServiceSettings(redis_url=redis_url))
    work, queue = ChannelWork(client, retention_s=60), ActivationQueue(client, retention_s=60)
    for activation_id in ("a1", "a2"):  # queueing an activation lists it as in flight in its channel
        await queue.enqueue(Activation(id=activation_id, trigger=Trigger.MENTION, channel_id="c1",
                                       message_id=activation_id, author_id="u", author_name="u", content="hi"))
    await client.hset(keys.journal("a1"), "history:0", "{}")  # a1 has started, a2 is still queued
    assert await work.in_flight("c1") == ["a1", "a2"]
    assert await work.supersede(["a1", "a2"], by="a3", policy=DoubleTexting.MERGE) == ["a2"]
    assert await client.get(keys.superseded("a2")) == "a3" and not await client.exists(keys.superseded("a1"))
    assert await work.supersede(["a1"], by="a4", policy=DoubleTexting.INTERRUPT) == ["a1"]
    await work.done("c1", "a1")
    assert await work.in_flight("c1") == ["a2"]
    await client.aclose()


async def test_backlog_counts_activations_no_planner_has_taken(redis_url: str) -> None:
    client = connect_async(ServiceSettings(redis_url=redis_url))
    queue = ActivationQueue(client, retention_s=60)
    for i in range(3):
        await queue.enqueue(Activation(id=f"b{i}", trigger=Trigger.MENTION, channel_id="c", message_id=f"b{i}",
                                       author_id="u", author_name="u", content="hi"))
    assert await queue.backlog() == 3  # no consumer group yet: everything waits
    await client.xgroup_create(Stream.ACTIVATIONS, Group.PLANNERS, id="0")
    await client.xreadgroup(Group.PLANNERS, "p1", {Stream.ACTIVATIONS: ">"}, count=2)
    assert await queue.backlog() == 1
    assert await queue.first_notice("queue", "b2") and not await queue.first_notice("queue", "b2")
    await client.aclose()
