"""Shard start-up: which shards this process runs, and IDENTIFY pacing shared by every replica.

Discord lets `max_concurrency` shards IDENTIFY per 5 s, one per rate-limit bucket (`shard_id %
max_concurrency`). Replicas (one per Kubernetes pod ordinal) coordinate through Redis: a shard takes
its bucket's 5-second lease (`SET NX PX`) before identifying, and waits while another holds it.
"""

from __future__ import annotations

import asyncio
import logging

import redis.asyncio as aioredis

from switchboard.core import keys

log = logging.getLogger(__name__)

IDENTIFY_WINDOW_MS = 5_000


class IdentifyGate:
    def __init__(self, client: aioredis.Redis, max_concurrency: int = 1, window_ms: int = IDENTIFY_WINDOW_MS) -> None:
        self._redis = client
        self.max_concurrency = max(1, max_concurrency)
        self._window_ms = window_ms

    async def wait_turn(self, shard_id: int) -> None:
        """Return once this shard may IDENTIFY (its bucket's lease is ours)."""
        key = keys.identify_bucket(shard_id % self.max_concurrency)
        while not await self._redis.set(key, str(shard_id), nx=True, px=self._window_ms):
            wait_ms = await self._redis.pttl(key)
            log.info("shard %s waits %d ms to identify", shard_id, max(wait_ms, 0))
            await asyncio.sleep(max(wait_ms, 50) / 1000)
