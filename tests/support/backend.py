"""Planner and tools processes on a real Redis, for tests that watch the planner from outside."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import redis
import redis.asyncio as aioredis

from switchboard.core.activation_queue import ActivationQueue
from switchboard.core.keys import STREAM_FIELD, Group, Stream
from switchboard.core.wire import Activation, Reply
from switchboard.devstack.processes import ServiceProcess
from switchboard.devstack.stack import Stack, StackConfig

FAST_TAKEOVER = {"SWITCHBOARD_CLAIM_IDLE_MS": "1500", "SWITCHBOARD_CLAIM_INTERVAL_S": "0.3"}


class Backend:
    """Planner + tools processes on a real Redis; inference started on demand."""

    def __init__(self, run_dir: Path, redis_url: str) -> None:
        self.stack = Stack(StackConfig(run_dir=run_dir, chat_backend="echo", redis_url=redis_url,
                                       services=("tools",)))
        self.redis_url = redis_url
        self.redis = redis.Redis.from_url(redis_url, decode_responses=True)
        self.planners: list[ServiceProcess] = []

    def start_planner(self, planner_id: str, env: dict[str, str] | None = None) -> ServiceProcess:
        process = self.stack.service("planner", label=planner_id,
                                     env={"SWITCHBOARD_PLANNER_ID": planner_id, **FAST_TAKEOVER, **(env or {})})
        process.start()
        self.planners.append(process)
        return process

    def ensure_inference(self) -> None:
        if "inference" not in self.stack.services:
            self.stack.services["inference"] = self.stack.service("inference")
            self.stack.services["inference"].start()
        self.stack.wait_ready(deadline=time.monotonic() + 120)

    def enqueue(self, activation: Activation) -> None:
        self.redis.xadd(Stream.ACTIVATIONS, {STREAM_FIELD: activation.to_json()})

    def enqueue_as_gateway(self, activation: Activation) -> None:
        """Queue it the way the gateway does: once, and listed in flight in its channel."""
        async def enqueue() -> None:
            client = aioredis.Redis.from_url(self.redis_url, decode_responses=True)
            await ActivationQueue(client, retention_s=600).enqueue(activation)
            await client.aclose()
        asyncio.run(enqueue())

    def replies_for(self, activation_id: str) -> list[Reply]:
        entries = self.redis.xrange(Stream.REPLIES)
        replies = [Reply.from_json(fields[STREAM_FIELD]) for _, fields in entries]
        return [r for r in replies if r.activation_id == activation_id]

    def pending(self) -> int:
        return self.redis.xpending(Stream.ACTIVATIONS, Group.PLANNERS)["pending"]

    def stop(self) -> None:
        for planner in self.planners:
            planner.stop()
        self.stack.stop()
