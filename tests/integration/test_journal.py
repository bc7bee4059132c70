"""The journal against a real Redis: first writer wins, and the wake-up reaches the waiting planner."""

from __future__ import annotations

import asyncio
import time

import redis
import redis.asyncio as aioredis

from switchboard.core import keys
from switchboard.core.journal import Journal, SyncJournal
from switchboard.core.metrics import Metrics
from switchboard.core.steps import execute_step
from switchboard.core.wire import InferenceResult, StepRequest, StepResult, ToolCall, ToolResult
from switchboard.planner.waiter import StepWaiter


def result(text: str) -> StepResult:
    return StepResult(activation_id="a1", step="infer:0",
                      output=InferenceResult(text=text, finish_reason="stop", model="m"))


def test_first_writer_wins(redis_url: str) -> None:
    journal = SyncJournal(redis.Redis.from_url(redis_url, decode_responses=True))
    assert journal.record(result("first")) is True
    assert journal.record(result("second")) is False
    recorded = journal.get("a1", "infer:0")
    assert recorded is not None and recorded.output.text == "first"  # type: ignore[union-attr]


async def test_concurrent_writers_agree_on_one_result(redis_url: str) -> None:
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    journal = Journal(client)
    outcomes = await asyncio.gather(*(journal.record(result(f"writer {i}")) for i in range(20)))
    assert outcomes.count(True) == 1
    winner = outcomes.index(True)
    assert (await journal.get("a1", "infer:0")).output.text == f"writer {winner}"  # type: ignore[union-attr]
    await client.aclose()


async def test_waiter_wakes_on_record_and_falls_back_to_polling(redis_url: str) -> None:
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    journal = Journal(client)
    waiter = StepWaiter(client, journal, "sb:wake:test", poll_s=0.2)
    await waiter.start()
    listener = asyncio.create_task(waiter.listen())
    try:
        waiting = asyncio.create_task(waiter.wait("a1", "infer:0", timeout=5))
        await asyncio.sleep(0)  # let the waiter register before the result lands
        await journal.record(result("woken"), reply_to="sb:wake:test")
        assert (await waiting).output.text == "woken"  # type: ignore[union-attr]
        # No wake-up at all (lost pub/sub message): polling still finds it.
        silent = StepResult(activation_id="a2", step="infer:0",
                            output=InferenceResult(text="polled", finish_reason="stop", model="m"))
        waiting = asyncio.create_task(waiter.wait("a2", "infer:0", timeout=5))
        await journal.record(silent)
        assert (await waiting).output.text == "polled"  # type: ignore[union-attr]
    finally:
        listener.cancel()
        await waiter.close()
        await client.aclose()


def test_a_copy_of_a_step_that_another_delivery_runs_is_skipped(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    journal, metrics, ran = SyncJournal(client, run_lease_s=1), Metrics(), []
    request = StepRequest(activation_id="a3", step="tool:clock:0", reply_to="sb:wake:test",
                          payload=ToolCall(name="clock", arguments={}))

    def handler(req: StepRequest) -> ToolResult:
        ran.append(req.task_id)
        return ToolResult(name="clock", output={"iso": "now"})

    assert journal.claim_run("a3", "tool:clock:0", "elsewhere") == 1  # another delivery is running it
    assert execute_step(request.to_json(), handler, journal, metrics, "tool") is None
    assert ran == [] and client.hget(keys.attempts("a3"), "tool:clock:0") == "1"  # not counted as a delivery
    time.sleep(1.1)  # that delivery's worker died: its claim lapses, and the next delivery runs the step
    done = execute_step(request.to_json(), handler, journal, metrics, "tool")
    assert done is not None and done.attempt == 2 and ran == [request.task_id]
    assert not client.exists(keys.step_run("a3", "tool:clock:0"))  # recording the result ends the claim
    assert execute_step(request.to_json(), handler, journal, metrics, "tool") == done and len(ran) == 1
