"""Live mode: the original activation again, as a new activation that the planners run now.

The copy gets its own id (so its own journal: every step runs again), `replay_of` naming the original,
no interaction (the original command's token has long expired) and the callsystem version to run. It is
queued beside the channel's conversation, not in its turn order, like `/replay`; the replay waits for
its record, which the planner writes together with its reply.
"""

from __future__ import annotations

import asyncio
import time

import redis.asyncio as aioredis

from switchboard.core.activation_queue import ActivationQueue
from switchboard.core.tracing import inject_context
from switchboard.core.wire import Activation, ActivationRecord
from switchboard.planner.replay.records import RecordStore


def replay_activation(original: Activation, replay_id: str, callsystem: str, deliver: bool) -> Activation:
    """The copy of `original` a replay runs; it answers the original message when delivered."""
    return original.model_copy(update={
        "id": replay_id, "replay_of": original.id, "accepted_at": time.time(), "interaction": None,
        "deliver": deliver, "callsystem": callsystem, "trace_context": inject_context()})


async def run_live(client: aioredis.Redis, queue: ActivationQueue, activation: Activation, timeout_s: float,
                   poll_s: float = 0.2) -> ActivationRecord | None:
    """Queue `activation` for the planners; its record once written, or None after `timeout_s`."""
    await queue.enqueue(activation, in_channel_order=False)
    records = RecordStore(client)
    deadline = time.monotonic() + timeout_s
    while (record := await records.get(activation.id)) is None:
        if time.monotonic() >= deadline:
            return None
        await asyncio.sleep(poll_s)
    return record
