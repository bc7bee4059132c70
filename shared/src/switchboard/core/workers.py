"""Starting a Celery worker for one queue, shared by the tools and inference services."""

from __future__ import annotations

import socket

from celery import Celery
from opentelemetry.instrumentation.celery import CeleryInstrumentor


def instrument_celery() -> None:
    """Trace task publish and run; trace context rides in the task headers."""
    instrumentor = CeleryInstrumentor()
    if not instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.instrument()


def run_worker(app: Celery, queue: str, concurrency: int, name: str, log_level: str) -> None:
    """Run a threads-pool worker on `queue` until it is told to stop (SIGTERM: warm shutdown).

    Threads, not prefork: tasks wait on I/O (Redis, Ray), and one process keeps one registry of
    metrics for `/metrics`.
    """
    app.worker_main([
        "worker", "--queues", queue, "--pool", "threads", "--concurrency", str(concurrency),
        "--hostname", f"{name}@{socket.gethostname()}", "--loglevel", log_level,
        "--without-gossip", "--without-mingle", "--without-heartbeat",
    ])
