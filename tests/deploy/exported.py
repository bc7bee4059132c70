"""The metric names this project's code exports, and the few others its dashboards and alerts read."""

from __future__ import annotations

from prometheus_client.metrics_core import Metric

from switchboard.core.metrics import Metrics

_SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}

# Series from software the deployment runs beside Switchboard, with where each comes from. The chart and
# docker-compose run redis_exporter v1.88.0 (`redis_` namespace, exporter/exporter.go and streams.go there);
# `up` is Prometheus' own per-target series.
EXTERNAL = {
    "redis_stream_length": "redis_exporter --check-single-streams",
    "redis_stream_group_lag": "redis_exporter --check-single-streams",
    "redis_stream_group_messages_pending": "redis_exporter --check-single-streams",
    "redis_key_size": "redis_exporter --check-single-keys",
    "redis_up": "redis_exporter",
    "redis_memory_used_bytes": "redis_exporter (INFO used_memory)",
    "redis_memory_max_bytes": "redis_exporter (INFO maxmemory)",
    "up": "Prometheus",
}


def _sample_names(family: Metric) -> set[str]:
    return {family.name + suffix for suffix in _SUFFIXES[family.type]}


def switchboard_metric_names() -> set[str]:
    """Every series name a Switchboard process can expose on /metrics."""
    registry = Metrics().registry
    return {name for family in registry.collect() for name in _sample_names(family)}
