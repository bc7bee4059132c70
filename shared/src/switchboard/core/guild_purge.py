"""A guild's data goes when the bot leaves it: after a grace period (an accidental kick can be undone by
adding the bot back), every key the guild owns is deleted.

The gateway schedules a purge when Discord says the bot left (`schedule`, with the channels it had) and
cancels it when the bot is added back (`cancel`); a planner's maintenance loop runs the purges that are due
(`run_due`). A purge is idempotent and leaves the schedule only once it finished, so a replica dying half-way
leaves it for the next one; a lease keeps two replicas from doing the same guild at once.

What goes: the guild's config, personas, memory, usage counters and activation records (each record's journal and
exactly-once markers with it), and per channel its config, history, record index, sleep and busy state. Its
quota stays: that is the operators' setting, not the guild's data.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

import redis.asyncio as aioredis

from switchboard.core import keys

PURGE_LEASE_S = 600
BATCH = 500  # keys deleted per round trip


@dataclass(frozen=True)
class Purged:
    guild_id: str
    keys_deleted: int
    activations: int


class GuildPurges:
    def __init__(self, client: aioredis.Redis, grace_s: float) -> None:
        self._redis = client
        self.grace_s = grace_s

    async def schedule(self, guild_id: str, channel_ids: Iterable[str], now: float | None = None) -> float:
        """Purge guild `guild_id` after the grace (a later schedule keeps the first due time); returns when."""
        due = (now or time.time()) + self.grace_s
        channels = list(channel_ids)
        async with self._redis.pipeline(transaction=True) as pipe:
            if channels:
                pipe.sadd(keys.purge_channels(guild_id), *channels)
            pipe.zadd(keys.PURGES_DUE, {guild_id: due}, nx=True)
            await pipe.execute()
        return due

    async def cancel(self, guild_id: str) -> bool:
        """The bot is back in the guild: keep its data; True when a purge was scheduled."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zrem(keys.PURGES_DUE, guild_id)
            pipe.delete(keys.purge_channels(guild_id))
            removed, _ = await pipe.execute()
        return bool(removed)

    async def due(self, guild_id: str) -> float | None:
        return await self._redis.zscore(keys.PURGES_DUE, guild_id)

    async def run_due(self, now: float | None = None) -> list[Purged]:
        """Purge every guild whose grace is over (skipping one another replica is purging)."""
        done = []
        for guild_id in await self._redis.zrangebyscore(keys.PURGES_DUE, "-inf", now or time.time()):
            if await self._redis.set(keys.purging(guild_id), "1", nx=True, ex=PURGE_LEASE_S):
                done.append(await self.purge(guild_id))
        return done

    async def purge(self, guild_id: str) -> Purged:
        """Delete everything guild `guild_id` owns now (an operator's purge does not wait for the grace)."""
        channels = sorted(await self._redis.smembers(keys.purge_channels(guild_id)))
        activations = await self._redis.zrange(keys.guild_records(guild_id), 0, -1)
        owned = [keys.guild_config(guild_id), keys.guild_personas(guild_id), keys.guild_records(guild_id),
                 keys.rate_bucket("guild", guild_id)]
        for pattern in (keys.memory_pattern(guild_id), keys.usage_pattern(guild_id)):
            owned += [key async for key in self._redis.scan_iter(match=pattern, count=BATCH)]
        owned += [key for channel in channels for key in _channel_keys(channel)]
        owned += [key for activation in activations for key in _activation_keys(activation)]
        deleted = 0
        for start in range(0, len(owned), BATCH):
            deleted += await self._redis.delete(*owned[start:start + BATCH])
        async with self._redis.pipeline(transaction=False) as pipe:
            for start in range(0, len(activations), BATCH):
                pipe.zrem(keys.RECORDS, *activations[start:start + BATCH])
            pipe.zrem(keys.PURGES_DUE, guild_id)
            pipe.delete(keys.purge_channels(guild_id), keys.purging(guild_id))
            await pipe.execute()
        return Purged(guild_id, deleted, len(activations))


def _channel_keys(channel_id: str) -> list[str]:
    return [keys.channel_config(channel_id), keys.history(channel_id), keys.channel_records(channel_id),
            keys.asleep(channel_id), keys.busy(channel_id)]


def _activation_keys(activation_id: str) -> list[str]:
    return [keys.record(activation_id), keys.journal(activation_id), keys.attempts(activation_id),
            keys.posted(activation_id), keys.reply_written(activation_id), keys.accepted(activation_id),
            keys.placeholder(activation_id), keys.superseded(activation_id)]
