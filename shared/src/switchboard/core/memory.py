"""Long-lived memory a callsystem keeps per user or per channel (`remember` / `recall`).

Values are JSON, stored in one Redis hash per owner (`sb:memory:<scope>:<id>`).
"""

from __future__ import annotations

import json
from typing import Any, Literal

import redis.asyncio as aioredis

from switchboard.core import keys

MemoryScope = Literal["user", "channel"]


class MemoryStore:
    def __init__(self, client: aioredis.Redis) -> None:
        self._redis = client

    async def get(self, scope: MemoryScope, owner: str, key: str) -> Any:
        raw = await self._redis.hget(keys.memory(scope, owner), key)
        return None if raw is None else json.loads(raw)

    async def set(self, scope: MemoryScope, owner: str, key: str, value: Any) -> None:
        await self._redis.hset(keys.memory(scope, owner), key, json.dumps(value))
