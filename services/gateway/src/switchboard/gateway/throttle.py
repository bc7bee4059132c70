"""Per-user and per-guild token buckets, checked before an activation is enqueued.

A token is taken from the user's and the guild's bucket together (or from neither), on Redis's clock,
so every gateway replica shares the same buckets. A throttled user is told once per
throttle period (`SET NX` with the time until the next token), not once per message.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import redis.asyncio as aioredis

from switchboard.core import keys
from switchboard.core.buckets import TokenBuckets
from switchboard.core.config import RateLimit


@dataclass(frozen=True)
class Admission:
    allowed: bool
    scope: str | None = None  # "user" or "guild" when throttled
    retry_after_s: float = 0.0
    notify: bool = False  # True for the first throttled message of a throttle period


class ActivationLimiter:
    def __init__(self, client: aioredis.Redis) -> None:
        self._redis = client
        self._buckets = TokenBuckets(client)

    async def admit(self, user_id: str, guild_id: str | None, user_rate: RateLimit,
                    guild_rate: RateLimit) -> Admission:
        scopes = [("user", user_id, user_rate)] + ([("guild", guild_id, guild_rate)] if guild_id else [])
        taken = await self._buckets.take(
            [(keys.rate_bucket(scope, scope_id), rate) for scope, scope_id, rate in scopes])
        if taken.allowed:
            return Admission(allowed=True)
        scope, scope_id, _ = scopes[taken.blocked]
        retry_after_s = taken.retry_after_s
        notify = await self._redis.set(keys.notice_sent(scope, scope_id), "1", nx=True,
                                       px=max(1, math.ceil(retry_after_s * 1000)))
        return Admission(allowed=False, scope=scope, retry_after_s=retry_after_s, notify=bool(notify))


def throttle_notice(admission: Admission) -> str:
    wait = f"{max(1, math.ceil(admission.retry_after_s))} s"
    if admission.scope == "guild":
        return f"⏳ This server is sending me more messages than I can take right now; try again in {wait}."
    return f"⏳ You're sending messages faster than I can answer; I'll take new ones from you in {wait}."


def quota_notice(limit: str) -> str:
    """What a user over a daily quota is told (once); `limit` names the quota field reached."""
    whose = "You have" if limit.startswith("user_") else "This server has"
    what = limit.removeprefix("user_").removesuffix("_per_day").replace("_", " ")
    return (f"📊 {whose} used today's quota of {what} (`quota_exceeded`); I'll answer again after midnight UTC. "
            "A server admin can see the figures with /usage.")
