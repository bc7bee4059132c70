"""The step journal: `sb:journal:<activation>` maps a step key to its recorded `StepResult`.

A result is recorded with `HSETNX`, so the first writer wins and a re-run step (a redelivered task, a
planner that took over) can never change what a callsystem already saw. Recording and the wake-up to
the waiting planner go out in one transaction. `Journal` is for asyncio code, `SyncJournal` for workers.

Journals are kept by age: every recorded step pushes the key's expiry `retention_s` ahead, so a journal
outlives the record of its activation (written after its last step, with the same retention) and goes
with it. Beside it, `sb:attempts:<activation>` counts how many times a step's task was delivered, so a
step run again after its worker died says it was attempt 2.

A step's task can be in the queue twice: the planner sends it again when no worker has started it for a
while (the first copy may have been lost with a worker killed between taking it and noting it unacked). So a
delivery claims the run before counting its attempt (`sb:step-run:...`, a lease as long as the task's hard
time limit) and a copy that finds the run claimed skips it. That is safe to acknowledge: the claiming
delivery's own message stays unacknowledged until it finishes, and should its worker die, kombu restores
it only after the visibility timeout, which is longer than the lease.
"""

from __future__ import annotations

import json

import redis
import redis.asyncio as aioredis

from switchboard.core import keys
from switchboard.core.keys import STREAM_FIELD, Stream
from switchboard.core.wire import StepResult

DEFAULT_RETENTION_S = 7 * 24 * 3600
DEFAULT_MAX_DELIVERIES = 3
DEFAULT_RUN_LEASE_S = 120  # the default task time limit: no delivery runs longer

# Claim a step's run and count the attempt, or say (0) that another delivery holds the run.
_CLAIM_RUN = """
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 0 end
local attempt = redis.call('HINCRBY', KEYS[2], ARGV[3], 1)
redis.call('EXPIRE', KEYS[2], ARGV[4])
return attempt
"""


def wake_message(activation_id: str, step: str) -> str:
    return json.dumps({"activation_id": activation_id, "step": step})


def parse_wake_message(raw: str | bytes) -> tuple[str, str]:
    data = json.loads(raw)
    return data["activation_id"], data["step"]


class Journal:
    """Async access to activation journals (the client must decode responses)."""

    def __init__(self, client: aioredis.Redis, retention_s: int = DEFAULT_RETENTION_S) -> None:
        self._redis = client
        self._retention_s = retention_s

    async def get(self, activation_id: str, step: str) -> StepResult | None:
        raw = await self._redis.hget(keys.journal(activation_id), step)
        return None if raw is None else StepResult.from_json(raw)

    async def started(self, activation_id: str, step: str) -> bool:
        """Whether any delivery of the step's task has started running it."""
        return bool(await self._redis.hexists(keys.attempts(activation_id), step))

    async def steps(self, activation_id: str) -> list[StepResult]:
        """Every recorded step of an activation, in the order they finished."""
        raw = await self._redis.hvals(keys.journal(activation_id))
        return sorted((StepResult.from_json(value) for value in raw), key=lambda result: result.finished_at)

    async def record(self, result: StepResult, reply_to: str | None = None) -> bool:
        """Record `result` unless the step already has one; True when this call was the first writer."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hsetnx(keys.journal(result.activation_id), result.step, result.to_json())
            pipe.expire(keys.journal(result.activation_id), self._retention_s)
            if reply_to:
                pipe.publish(reply_to, wake_message(result.activation_id, result.step))
            first, *_ = await pipe.execute()
        return bool(first)


class SyncJournal:
    """Blocking access to activation journals, for Celery worker threads."""

    def __init__(self, client: redis.Redis, retention_s: int = DEFAULT_RETENTION_S,
                 max_deliveries: int = DEFAULT_MAX_DELIVERIES, run_lease_s: int = DEFAULT_RUN_LEASE_S) -> None:
        self._redis = client
        self._retention_s = retention_s
        self.max_deliveries = max_deliveries  # of one step's task; past it the step is dead-lettered
        self._run_lease_ms = run_lease_s * 1000
        self._claim_run = client.register_script(_CLAIM_RUN)

    def claim_run(self, activation_id: str, step: str, runner: str) -> int | None:
        """Claim the run of a step for `runner` and count the delivery; returns which attempt this is (1: the
        first), or None when another delivery is running the step now."""
        attempt = self._claim_run(keys=[keys.step_run(activation_id, step), keys.attempts(activation_id)],
                                  args=[runner, self._run_lease_ms, step, self._retention_s])
        return int(attempt) or None

    def get(self, activation_id: str, step: str) -> StepResult | None:
        raw = self._redis.hget(keys.journal(activation_id), step)
        return None if raw is None else StepResult.from_json(raw)

    def dead_letter(self, result: StepResult, raw_request: str, source: str, deliveries: int,
                    reply_to: str | None = None) -> bool:
        """Record `result` (the typed refusal of a poison step) and, when it is the first, copy the request to
        the dead-letter stream with why; True when this call recorded it."""
        first = self.record(result, reply_to)
        if first:
            self._redis.xadd(Stream.DEAD_LETTERS, {
                STREAM_FIELD: raw_request, "source": source, "reason": result.error.message if result.error else "",
                "activation_id": result.activation_id, "step": result.step, "deliveries": str(deliveries)})
        return first

    def record(self, result: StepResult, reply_to: str | None = None) -> bool:
        """Record `result` unless the step already has one, and end the run's claim; True when this call was
        the first writer."""
        with self._redis.pipeline(transaction=True) as pipe:
            pipe.hsetnx(keys.journal(result.activation_id), result.step, result.to_json())
            pipe.expire(keys.journal(result.activation_id), self._retention_s)
            pipe.delete(keys.step_run(result.activation_id, result.step))
            if reply_to:
                pipe.publish(reply_to, wake_message(result.activation_id, result.step))
            first, *_ = pipe.execute()
        return bool(first)

