"""Redis clients as every service makes them: decoded responses, a bounded, blocking connection pool.

A blocking pool makes a burst wait for a free connection instead of failing with "Too many
connections", so load turns into latency, never into a lost message.
"""

from __future__ import annotations

import redis
import redis.asyncio as aioredis

from switchboard.core.settings import ServiceSettings


def connect_async(settings: ServiceSettings, decode_responses: bool = True) -> aioredis.Redis:
    """A client for text (JSON) values; `decode_responses=False` for bytes (blobs)."""
    pool = aioredis.BlockingConnectionPool.from_url(
        settings.redis_url, decode_responses=decode_responses, max_connections=settings.redis_max_connections,
        timeout=settings.redis_pool_timeout_s)
    return aioredis.Redis(connection_pool=pool)


def connect_sync(settings: ServiceSettings, decode_responses: bool = True) -> redis.Redis:
    """The same for sync code (Celery workers)."""
    pool = redis.BlockingConnectionPool.from_url(
        settings.redis_url, decode_responses=decode_responses, max_connections=settings.redis_max_connections,
        timeout=settings.redis_pool_timeout_s)
    return redis.Redis(connection_pool=pool)
