"""The planner's side of the `sb:activations` stream: the shared stream consumer on group `planners`.

An entry stays pending until its outcome is written; a live planner heartbeats its own in-flight entries so a
long activation is not taken over, and takes over entries idle past the threshold on a dead planner (each
claim counts as a delivery, so an entry no planner finishes in N deliveries is dead-lettered).
"""

from __future__ import annotations

import redis.asyncio as aioredis

from switchboard.core.keys import Group, Stream
from switchboard.core.stream_consumer import Entry, StreamConsumer

__all__ = ["ActivationStream", "Entry"]


class ActivationStream(StreamConsumer):
    def __init__(self, client: aioredis.Redis, consumer: str, claim_idle_ms: int) -> None:
        super().__init__(client, Stream.ACTIVATIONS, Group.PLANNERS, consumer, claim_idle_ms)
