"""Per-user and per-guild token buckets, checked before an activation is enqueued.

One Lua script takes a token from the user's and the guild's bucket together (or from neither), on
Redis's clock, so every gateway replica shares the same buckets. A throttled user is told once per
throttle period (`SET NX` with the time until the next token), not once per message.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import redis.asyncio as aioredis

from switchboard.core import keys
from switchboard.core.config import RateLimit

# Returns {allowed (1/0), blocking scope index (0 = none), ms until that scope has a token again}.
_TAKE_BOTH = """
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local levels = {}
for i = 1, #KEYS do
  local capacity = tonumber(ARGV[2 * i - 1])
  local rate = capacity / (tonumber(ARGV[2 * i]) * 1000)
  local state = redis.call('HMGET', KEYS[i], 'tokens', 'ts')
  local tokens = tonumber(state[1]) or capacity
  local ts = tonumber(state[2]) or now
  tokens = math.min(capacity, tokens + (now - ts) * rate)
  levels[i] = {tokens, rate, capacity}
end
for i = 1, #KEYS do
  if levels[i][1] < 1 then
    return {0, i, math.ceil((1 - levels[i][1]) / levels[i][2])}
  end
end
for i = 1, #KEYS do
  local tokens, rate, capacity = levels[i][1] - 1, levels[i][2], levels[i][3]
  redis.call('HSET', KEYS[i], 'tokens', tostring(tokens), 'ts', now)
  redis.call('PEXPIRE', KEYS[i], math.ceil(capacity / rate) + 1000)
end
return {1, 0, 0}
"""


@dataclass(frozen=True)
class Admission:
    allowed: bool
    scope: str | None = None  # "user" or "guild" when throttled
    retry_after_s: float = 0.0
    notify: bool = False  # True for the first throttled message of a throttle period


class ActivationLimiter:
    def __init__(self, client: aioredis.Redis) -> None:
        self._redis = client
        self._script = client.register_script(_TAKE_BOTH)

    async def admit(self, user_id: str, guild_id: str | None, user_rate: RateLimit,
                    guild_rate: RateLimit) -> Admission:
        scopes = [("user", user_id, user_rate)] + ([("guild", guild_id, guild_rate)] if guild_id else [])
        allowed, blocked, retry_ms = await self._script(
            keys=[keys.rate_bucket(scope, scope_id) for scope, scope_id, _ in scopes],
            args=[value for _, _, rate in scopes for value in (rate.capacity, rate.per_seconds)])
        if allowed:
            return Admission(allowed=True)
        scope, scope_id, _ = scopes[int(blocked) - 1]
        retry_after_s = int(retry_ms) / 1000
        notify = await self._redis.set(keys.throttle_notice(scope, scope_id), "1", nx=True,
                                       px=max(1, math.ceil(retry_after_s * 1000)))
        return Admission(allowed=False, scope=scope, retry_after_s=retry_after_s, notify=bool(notify))
