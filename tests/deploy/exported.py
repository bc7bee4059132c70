"""The metric names this project's code exports, and the few others its dashboards and alerts read."""

from __future__ import annotations

from prometheus_client.metrics_core import Metric

from switchboard.admin.queue_metrics import QueueCollector
from switchboard.core.metrics import Metrics

_SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}

# Series from software the deployment runs beside Switchboard, with where each comes from. The chart and
# docker-compose run redis_exporter v1.88.0 (`redis_` namespace, exporter/exporter.go there) for Redis'
# own health; `up` is Prometheus' own per-target series.
EXTERNAL = {
    "redis_up": "redis_exporter",
    "redis_memory_used_bytes": "redis_exporter (INFO used_memory)",
    "redis_memory_max_bytes": "redis_exporter (INFO maxmemory)",
    "up": "Prometheus",
}


def _sample_names(family: Metric) -> set[str]:
    return {family.name + suffix for suffix in _SUFFIXES[family.type]}


def switchboard_metric_names() -> set[str]:
    """Every series name a Switchboard process can expose on /metrics from `Metrics()`."""
    registry = Metrics().registry
    return {name for family in registry.collect() for name in _sample_names(family)}


def queue_metric_names(redis_url: str) -> set[str]:
    """Every series name the admin service's queue read-out exposes, read from the Redis at `redis_url`.

    Raises AssertionError when that Redis did not answer (the read-out then holds only its scrape status).
    """
    families = list(QueueCollector(redis_url).collect())
    status = next(f for f in families if f.name == "switchboard_queue_scrape_ok")
    assert status.samples[0].value == 1, f"the queue read-out could not read {redis_url}"
    return {name for family in families for name in _sample_names(family)}
