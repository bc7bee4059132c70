"""The peer for the throughput figure: bare Celery no-op tasks on the pipeline's own Redis.

The app is built by the project's `make_celery`, so the broker settings are the pipeline's (JSON, late acks,
prefetch 1, threads pool); the task only counts itself with one INCR, so the benchmark knows when the last one
ran. Run as a worker by the throughput benchmark:

    python benchmarks/celery_noop.py REDIS_URL CONCURRENCY
"""

from __future__ import annotations

import sys

import redis
from celery import Celery

from switchboard.core.celery_app import make_celery
from switchboard.core.settings import ServiceSettings
from switchboard.core.workers import run_worker

QUEUE = "bench-noop"
TASK = "bench.noop"
DONE = "bench:noop:done"


def noop_app(redis_url: str) -> Celery:
    app = make_celery(ServiceSettings(redis_url=redis_url), "bench-noop")
    app.conf.task_routes = {TASK: {"queue": QUEUE}}
    counter = redis.Redis.from_url(redis_url)

    @app.task(name=TASK)
    def noop() -> None:
        counter.incr(DONE)

    return app


if __name__ == "__main__":
    url, concurrency = sys.argv[1], int(sys.argv[2])
    run_worker(noop_app(url), QUEUE, concurrency, "bench-noop", "WARNING")
