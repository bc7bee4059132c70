"""The journal against a real Redis: first writer wins, and the wake-up reaches the waiting planner."""

from __future__ import annotations

import asyncio

import redis
import redis.asyncio as aioredis

from switchboard.core.journal import Journal, SyncJournal
from switchboard.core.wire import InferenceResult, StepResult
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
