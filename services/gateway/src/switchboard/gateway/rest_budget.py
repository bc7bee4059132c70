"""One REST request budget for every gateway replica, under Discord's 50 requests/s per bot.

Hooked into discord.py's HTTP session as an aiohttp trace: before each request to the REST API a token
is taken from a bucket in Redis (waiting when it is empty); after each response a 429 is counted by
its scope. discord.py itself honours the 429's `retry_after`. Interaction callbacks are outside
Discord's global limit, so they are outside this budget too.
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import aiohttp
import redis.asyncio as aioredis

from switchboard.core import keys
from switchboard.core.buckets import TokenBuckets
from switchboard.core.config import RateLimit
from switchboard.core.metrics import Metrics

DISCORD_GLOBAL_RATE = RateLimit(capacity=50, per_seconds=1)


def counts_against_budget(url: aiohttp.client.URL) -> bool:
    path = url.path
    return "/api/" in path and "/interactions/" not in path


class RestBudget:
    def __init__(self, client: aioredis.Redis, metrics: Metrics, rate: RateLimit = DISCORD_GLOBAL_RATE) -> None:
        self._buckets = TokenBuckets(client)
        self._metrics = metrics
        self._rate = rate

    def trace_config(self) -> aiohttp.TraceConfig:
        trace = aiohttp.TraceConfig()
        trace.on_request_start.append(self._before_request)
        trace.on_request_end.append(self._after_request)
        return trace

    async def take(self) -> None:
        """Wait for a token of the shared budget."""
        while not (taken := await self._buckets.take([(keys.DISCORD_REST_BUDGET, self._rate)])).allowed:
            self._metrics.discord_budget_waits.inc()
            await asyncio.sleep(taken.retry_after_s)

    async def _before_request(self, _session: aiohttp.ClientSession, _ctx: SimpleNamespace,
                              params: aiohttp.TraceRequestStartParams) -> None:
        if counts_against_budget(params.url):
            await self.take()

    async def _after_request(self, _session: aiohttp.ClientSession, _ctx: SimpleNamespace,
                             params: aiohttp.TraceRequestEndParams) -> None:
        if params.response.status == 429:
            scope = params.response.headers.get("X-RateLimit-Scope", "unknown")
            self._metrics.discord_rate_limited.labels(scope=scope).inc()
