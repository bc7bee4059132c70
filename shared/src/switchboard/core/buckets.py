"""Token buckets in Redis, shared by every replica and timed by Redis's own clock.

`take` takes one token from each bucket it names, all or none, atomically (one Lua script), and says
which bucket was empty and when it will have a token again.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as aioredis

from switchboard.core.config import RateLimit

# Returns {allowed (1/0), blocking scope index (0 = none), ms until that scope has a token again}.
_TAKE_ALL = """
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
class Taken:
    allowed: bool
    blocked: int = -1  # index of the empty bucket when not allowed
    retry_after_s: float = 0.0


class TokenBuckets:
    def __init__(self, client: aioredis.Redis) -> None:
        self._script = client.register_script(_TAKE_ALL)

    async def take(self, buckets: list[tuple[str, RateLimit]]) -> Taken:
        allowed, blocked, retry_ms = await self._script(
            keys=[key for key, _ in buckets],
            args=[value for _, rate in buckets for value in (rate.capacity, rate.per_seconds)])
        if allowed:
            return Taken(allowed=True)
        return Taken(allowed=False, blocked=int(blocked) - 1, retry_after_s=int(retry_ms) / 1000)
