"""Lane statistics: what each model role's lane can take and how fast it has answered lately.

The inference service publishes one `LaneStats` per role (`sb:lanes`, a hash keyed by role) when it
starts, from its settings, then folds every finished generation into moving averages, each time with the
lane's capacity as admission sees it then (live replicas, so a role Serve scaled up plans wider waves). Planners read
them to predict how long a batch of generations will take (agent groups' turn plans). A missing entry
means no inference service has said anything yet: the reader falls back to configured guesses.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import redis
import redis.asyncio as aioredis

from switchboard.core import keys
from switchboard.core.wire import LaneStats

CHAT_ROLE = "chat"

# Weight of the newest sample in the moving averages: about the last ten requests count.
SMOOTHING = 0.2


class LaneBoard:
    """The planner's read side."""

    def __init__(self, client: aioredis.Redis) -> None:
        self._redis = client

    async def get(self, role: str) -> LaneStats | None:
        raw = await self._redis.hget(keys.LANES, role)
        return None if raw is None else LaneStats.from_json(raw)


class LaneRecorder:
    """The inference service's write side: one per role, in each inference process."""

    def __init__(self, client: redis.Redis, role: str, initial: LaneStats,
                 capacity: Callable[[], int] | None = None) -> None:
        self._redis = client
        self._role = role
        self._capacity = capacity
        self.stats = initial

    def publish(self) -> None:
        self._redis.hset(keys.LANES, self._role, self.stats.to_json())

    def observe(self, time_to_first_token_s: float | None, tokens: int, generation_s: float) -> None:
        """Fold one finished generation into the averages and publish them (a sample without tokens is skipped)."""
        if time_to_first_token_s is None or tokens < 2 or generation_s <= time_to_first_token_s:
            return
        rate = (tokens - 1) / (generation_s - time_to_first_token_s)
        old = self.stats
        first = old.samples == 0  # the configured guesses give way to the first measurement
        weight = 1.0 if first else SMOOTHING
        self.stats = old.model_copy(update={
            "time_to_first_token_s": _blend(old.time_to_first_token_s, time_to_first_token_s, weight),
            "tokens_per_s": _blend(old.tokens_per_s, rate, weight),
            "samples": old.samples + 1, "updated_at": time.time(),
            "capacity": self._capacity() if self._capacity is not None else old.capacity})
        self.publish()


def _blend(old: float, new: float, weight: float) -> float:
    return old + weight * (new - old)
