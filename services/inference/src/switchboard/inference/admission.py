"""Admission per lane: a model request runs only while it holds one of its lane's slots.

A local lane's capacity is its deployment's live replicas times the requests each replica takes at once
(`max_ongoing_requests`), read from Serve and cached for a few seconds; a role scaled to zero counts as
one replica, so the first request reaches Serve and wakes the autoscaler. A hosted lane's capacity is its
provider's cap. Slots are Redis leases (`core.leases.LaneSlots`) that lapse after the task's hard time
limit, so a killed worker cannot keep one. A request that finds its lane full waits in a bounded queue:
`LaneFull` when its wait runs out, `LaneBackpressure` at once when the queue is at its limit.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager

from switchboard.core.errors import LaneBackpressure, LaneFull
from switchboard.core.leases import LaneSlots
from switchboard.core.metrics import Metrics
from switchboard.inference.resolver import ModelEntry

REPLICAS_TTL_S = 5.0


class LiveCapacity:
    """Local lanes' capacities from live replica counts (`ModelHost.replicas`), cached `ttl_s`."""

    def __init__(self, replicas: Callable[[], Mapping[str, int]], per_replica: Mapping[str, int],
                 ttl_s: float = REPLICAS_TTL_S) -> None:
        self._replicas = replicas
        self._per_replica = dict(per_replica)
        self._ttl_s = ttl_s
        self._counts: Mapping[str, int] = {}
        self._read_at = float("-inf")

    def __call__(self, role: str) -> int:
        if time.monotonic() - self._read_at > self._ttl_s:
            self._counts, self._read_at = self._replicas(), time.monotonic()
        return max(1, self._counts.get(role, 0)) * self._per_replica.get(role, 1)


class Admission:
    """Admits model requests to their lanes; `local_capacity(role)` and `cloud_capacity[provider]` size them."""

    def __init__(self, slots: LaneSlots, metrics: Metrics, *, local_capacity: Callable[[str], int],
                 cloud_capacity: Mapping[str, int], ttl_s: float, wait_s: float, queue_limit: int) -> None:
        self._slots = slots
        self._metrics = metrics
        self._local_capacity = local_capacity
        self._cloud_capacity = dict(cloud_capacity)
        self._ttl_s = ttl_s
        self._wait_s = wait_s
        self._queue_limit = queue_limit

    def capacity(self, model: ModelEntry) -> int:
        return self._local_capacity(model.role) if model.local else self._cloud_capacity.get(model.provider, 4)

    @contextmanager
    def admit(self, model: ModelEntry) -> Iterator[None]:
        """Hold a slot of `model`'s lane while inside; raises `LaneFull` or `LaneBackpressure`."""
        lane, began = model.lane, time.perf_counter()
        with ExitStack() as held:
            try:
                held.enter_context(self._slots.hold(lane, self.capacity(model), self._ttl_s, self._wait_s,
                                                    self._queue_limit))
            except (LaneFull, LaneBackpressure) as refused:
                self._metrics.lane_refusals.labels(lane=lane, reason=refused.code).inc()
                raise
            self._metrics.lane_queue_wait.labels(lane=lane).observe(time.perf_counter() - began)
            occupancy = self._metrics.lane_occupancy.labels(lane=lane)
            occupancy.inc()
            held.callback(occupancy.dec)
            yield
