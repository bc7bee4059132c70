"""The gateway's reply poster on a real Redis, with Discord failing: a reply delivered too often without being
posted is given up once, and a reply posted already is never given up, however often it was delivered."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import discord
import redis.asyncio as aioredis

from switchboard.core import keys
from switchboard.core.blobs import BlobStore
from switchboard.core.history import ChannelHistory
from switchboard.core.keys import STREAM_FIELD, Group, Stream
from switchboard.core.metrics import Metrics
from switchboard.core.stream_consumer import Entry
from switchboard.core.wire import Outcome, Reply
from switchboard.gateway.busy import ChannelWork
from switchboard.gateway.live import LiveReplies
from switchboard.gateway.replies import ReplyPoster
from switchboard.gateway.settings import GatewaySettings

LIMIT = 3


class FailingDiscord:
    """Discord answering 500 to every post."""

    def __init__(self) -> None:
        self.attempts = 0

    async def send_reply(self, *_: Any) -> Any:
        self.attempts += 1
        raise discord.DiscordServerError(SimpleNamespace(status=500, reason="Internal Server Error"), "500")

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the poster called Discord's {name}")


async def poster_with(client: aioredis.Redis, redis_url: str) -> tuple[ReplyPoster, FailingDiscord]:
    api = FailingDiscord()
    settings = GatewaySettings(redis_url=redis_url, reply_max_deliveries=LIMIT)
    poster = ReplyPoster(client, api, LiveReplies(client, api, 1.0, 60), ChannelHistory(client, 10),  # type: ignore[arg-type]
                         ChannelWork(client, 60), BlobStore(client, 60), Metrics(), settings)
    await client.xgroup_create(Stream.REPLIES, Group.GATEWAYS, id="0", mkstream=True)
    return poster, api


async def pending_entry(client: aioredis.Redis, activation_id: str, deliveries: int) -> Entry:
    reply = Reply(activation_id=activation_id, guild_id="1", channel_id="5", reply_to_message_id=activation_id,
                  outcome=Outcome.REPLIED, text="hello")
    entry_id = await client.xadd(Stream.REPLIES, {STREAM_FIELD: reply.to_json()})
    await client.xreadgroup(Group.GATEWAYS, "g1", {Stream.REPLIES: ">"})
    return Entry(entry_id, reply.to_json(), deliveries)


async def test_a_reply_failing_past_its_delivery_limit_is_given_up_once(redis_url: str) -> None:
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    poster, api = await poster_with(client, redis_url)
    entry = await pending_entry(client, "a1", deliveries=LIMIT)
    await poster.handle(entry)  # within the limit: tried, fails, stays pending
    assert api.attempts == 1 and (await client.xpending(Stream.REPLIES, Group.GATEWAYS))["pending"] == 1

    await poster.handle(Entry(entry.id, entry.raw, LIMIT + 1))
    assert api.attempts == 1  # not tried again
    assert await client.get(keys.posted("a1")) == "undeliverable"
    [(_, letter)] = await client.xrange(Stream.DEAD_LETTERS)
    assert (letter["reason"], letter["activation_id"], letter["deliveries"]) == ("too_many_deliveries", "a1", "4")
    assert (await client.xpending(Stream.REPLIES, Group.GATEWAYS))["pending"] == 0
    await client.aclose()


async def test_a_reply_posted_already_is_acknowledged_not_given_up(redis_url: str) -> None:
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    poster, api = await poster_with(client, redis_url)
    entry = await pending_entry(client, "a2", deliveries=LIMIT + 5)
    await client.set(keys.posted("a2"), "10001")  # posted; the acknowledgement was lost each time

    await poster.handle(entry)
    assert await client.get(keys.posted("a2")) == "10001" and api.attempts == 0
    assert await client.xlen(Stream.DEAD_LETTERS) == 0
    assert (await client.xpending(Stream.REPLIES, Group.GATEWAYS))["pending"] == 0
    await client.aclose()
