"""Queue depths and ages as Prometheus gauges, read from Redis when Prometheus scrapes the admin service.

One process in the deployment answers them (the admin service), so dashboards and alerts need no Redis
exporter for them and series never double up across replicas of the workers. Read at scrape time, not kept
up to date in between: a scrape costs a handful of Redis reads (`core.status`), and the numbers are never
stale. When Redis does not answer, `switchboard_queue_scrape_ok` is 0 and the other series are left out.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import redis.asyncio as aioredis
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from redis.exceptions import RedisError

from switchboard.admin import operations


class QueueCollector(Collector):
    def __init__(self, redis_url: str) -> None:
        self._redis_url = redis_url

    def collect(self) -> Iterator[GaugeMetricFamily]:
        ok = GaugeMetricFamily("switchboard_queue_scrape_ok", "1 when the queue read-out below came from Redis.")
        try:
            queues = asyncio.run(self._read())
        except (RedisError, OSError):
            ok.add_metric([], 0)
            yield ok
            return
        ok.add_metric([], 1)
        yield ok
        families = {
            "length": GaugeMetricFamily("switchboard_stream_length", "Entries in a stream.", labels=["stream"]),
            "pending": GaugeMetricFamily("switchboard_stream_pending",
                                         "Entries delivered to its consumer group and not yet acknowledged.",
                                         labels=["stream"]),
            "lag": GaugeMetricFamily("switchboard_stream_lag", "Entries not yet delivered to its consumer group.",
                                     labels=["stream"]),
            "age": GaugeMetricFamily("switchboard_stream_oldest_pending_age_seconds",
                                     "Age of the oldest entry its consumer group has not acknowledged (0: none).",
                                     labels=["stream"]),
        }
        for stream in queues.streams:
            families["length"].add_metric([stream.stream], stream.length)
            families["pending"].add_metric([stream.stream], stream.pending)
            families["lag"].add_metric([stream.stream], stream.lag)
            families["age"].add_metric([stream.stream], stream.oldest_pending_age_s or 0.0)
        yield from families.values()
        celery = GaugeMetricFamily("switchboard_celery_queue_length", "Tasks waiting in a Celery queue.",
                                   labels=["queue"])
        for name, depth in queues.celery.items():
            celery.add_metric([name], depth)
        yield celery
        yield GaugeMetricFamily("switchboard_dead_letters", "Entries in the dead-letter stream.",
                                value=queues.dead_letters)

    async def _read(self) -> operations.Queues:
        client = aioredis.Redis.from_url(self._redis_url, decode_responses=True, socket_timeout=5)
        try:
            return await operations.queues(client)
        finally:
            await client.aclose()
