"""A tool step through the whole journal path: planner context → Celery (real worker) → journal → planner."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
import redis
import redis.asyncio as aioredis
from celery import Celery
from celery.contrib.testing.worker import start_worker

from switchboard.core import keys
from switchboard.core.activation_queue import ActivationQueue
from switchboard.core.blobs import BlobStore
from switchboard.core.celery_app import make_celery
from switchboard.core.errors import InvalidToolArguments, StepTimeout, ToolNotAllowed
from switchboard.core.history import ChannelHistory
from switchboard.core.journal import Journal, SyncJournal
from switchboard.core.lanes import LaneBoard
from switchboard.core.memory import MemoryStore
from switchboard.core.metrics import Metrics
from switchboard.core.plugins import Persona
from switchboard.core.settings import ServiceSettings
from switchboard.core.tool_catalog import ToolCatalog
from switchboard.core.wire import Activation, ModelToolCall, StepRequest, Trigger
from switchboard.planner.callsystems.integrations import run_tool_call
from switchboard.planner.context import ContextServices, StepContext, Supersession
from switchboard.planner.dispatch import StepDispatcher
from switchboard.planner.replies import ReplyWriter
from switchboard.planner.turns import ChannelTurns
from switchboard.planner.waiter import StepWaiter
from switchboard.tools.builtin import BUILTIN_TOOLS
from switchboard.tools.registry import ToolRegistry
from switchboard.tools.worker import register_tool_task

ACTIVATION = Activation(id="900", trigger=Trigger.MENTION, channel_id="5", message_id="900", author_id="7",
                        author_name="alice", content="what is 6*7?")


@pytest.fixture
def celery_app(redis_url: str) -> Iterator[Celery]:
    settings = ServiceSettings(redis_url=redis_url)
    app = make_celery(settings, "test-tools")
    tools = ToolRegistry(BUILTIN_TOOLS, enabled=("calculator", "clock"))
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    tools.publish(client)
    register_tool_task(app, tools, SyncJournal(client), Metrics())
    with start_worker(app, pool="threads", concurrency=2, perform_ping_check=False, loglevel="WARNING",
                      queues=["sb.tools"]):
        yield app


@pytest.fixture
async def context(redis_url: str, celery_app: Celery):
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    journal = Journal(client)
    waiter = StepWaiter(client, journal, "sb:wake:test-planner", poll_s=0.2)
    await waiter.start()
    import asyncio

    listener = asyncio.create_task(waiter.listen())
    services = ContextServices(journal=journal, waiter=waiter, dispatcher=StepDispatcher(celery_app),
                               history=ChannelHistory(client, 10), metrics=Metrics(), step_timeout_s=20,
                               supersession=Supersession(client), blobs=BlobStore(client, 60),
                               memory=MemoryStore(client), tools=ToolCatalog(client),
                               replies=ReplyWriter(client, 60), lanes=LaneBoard(client),
                               queue=ActivationQueue(client, 60), turns=ChannelTurns(client, 60))
    def make(allowed: frozenset[str] = frozenset({"calculator", "clock"}), **changes: Any) -> StepContext:
        return StepContext(ACTIVATION, Persona("p", "be brief"), replace(services, **changes), allowed)

    yield make
    listener.cancel()
    await waiter.close()
    await client.aclose()


async def test_tool_runs_on_the_worker_and_is_journaled(context, redis_url: str) -> None:
    ctx = context()
    assert (await ctx.tool("calculator", {"expression": "6*7"}))["value"] == 42
    journal = SyncJournal(redis.Redis.from_url(redis_url, decode_responses=True))
    recorded = journal.get(ACTIVATION.id, "tool:calculator:0")
    assert recorded is not None and recorded.output.output["value"] == 42  # type: ignore[union-attr]
    assert recorded.worker and recorded.worker != "planner"


async def test_a_recorded_step_is_returned_without_running_again(context, redis_url: str) -> None:
    first = await context().tool("clock", {})
    # A second context for the same activation (a planner that took over) gets the recorded time.
    again_ctx = context()
    again = await again_ctx.tool("clock", {})
    assert again == first
    assert again_ctx.timings[0].from_journal is True


async def test_tool_errors_come_back_typed(context) -> None:
    ctx = context()
    with pytest.raises(InvalidToolArguments, match="calculator"):
        await ctx.tool("calculator", {"expression": "1/0"})
    with pytest.raises(ToolNotAllowed):
        await ctx.tool("shell", {"command": "rm -rf /"})


async def test_a_tool_the_guild_does_not_allow_is_refused_and_never_queued(context, redis_url: str) -> None:
    ctx = context(frozenset({"clock"}))
    with pytest.raises(ToolNotAllowed, match="calculator"):
        await ctx.tool("calculator", {"expression": "1+1"})
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    assert client.llen("sb.tools") == 0
    refusal = SyncJournal(client).get(ACTIVATION.id, "tool:calculator:0")
    assert refusal is not None and refusal.error.code == "tool_not_allowed" and refusal.worker == "planner"
    # A planner that takes the activation over sees the same refusal, even if the config changed since.
    with pytest.raises(ToolNotAllowed):
        await context(frozenset({"calculator", "clock"})).tool("calculator", {"expression": "1+1"})


async def test_bad_arguments_are_refused_before_queueing(context, redis_url: str) -> None:
    with pytest.raises(InvalidToolArguments, match="expression"):
        await context().tool("calculator", {"expr": "1+1"})
    assert redis.Redis.from_url(redis_url).llen("sb.tools") == 0


async def test_a_model_is_offered_only_allowed_tools_that_a_worker_offers(context) -> None:
    specs = await context(frozenset({"calculator", "web_fetch"})).tool_specs()
    assert [spec.name for spec in specs] == ["calculator"]  # web_fetch is allowed, but no worker here runs it
    assert "expression" in specs[0].parameters["properties"] and specs[0].description


async def test_a_tool_call_the_channel_does_not_allow_is_an_error_the_model_reads(context, redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    message, images = await run_tool_call(context(frozenset({"calculator"})), ModelToolCall(id="c1", name="clock"))
    assert message.role == "tool" and message.tool_call_id == "c1" and images == ()
    assert json.loads(message.content)["error"] == "tool_not_allowed"
    assert client.llen("sb.tools") == 0  # refused in the planner: no task was ever queued


class LosingDispatcher(StepDispatcher):
    """Loses the first `lose` tasks it is asked to send, as a worker killed while taking them off the queue
    would (kombu's window between `BRPOP` and noting the message unacknowledged)."""

    def __init__(self, app: Celery, lose: int) -> None:
        super().__init__(app)
        self.lose, self.sent = lose, 0

    async def send(self, request: StepRequest) -> None:
        self.sent += 1
        if self.sent > self.lose:
            await super().send(request)


async def test_a_task_lost_before_any_worker_started_it_is_sent_again(context, celery_app: Celery) -> None:
    dispatcher = LosingDispatcher(celery_app, lose=1)
    ctx = context(dispatcher=dispatcher, step_resend_after_s=0.3)
    assert (await ctx.tool("calculator", {"expression": "6*7"}))["value"] == 42
    (timing,) = ctx.timings
    assert dispatcher.sent == 2 and timing.attempt == 1  # one copy lost, the other ran once


async def test_a_started_step_is_not_sent_again_and_times_out_in_the_end(context, celery_app: Celery,
                                                                          redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    client.hset(keys.attempts(ACTIVATION.id), "tool:calculator:0", 1)  # a worker took it and is still at it
    dispatcher = LosingDispatcher(celery_app, lose=10)
    with pytest.raises(StepTimeout, match=r"after 1\.5 s"):
        await context(dispatcher=dispatcher, step_resend_after_s=0.3, step_timeout_s=1.5).tool(
            "calculator", {"expression": "1+1"})
    assert dispatcher.sent == 1


async def test_copies_sent_again_are_bounded(context, celery_app: Celery) -> None:
    dispatcher = LosingDispatcher(celery_app, lose=10)
    with pytest.raises(StepTimeout):
        await context(dispatcher=dispatcher, step_resend_after_s=0.2, step_timeout_s=1.5).tool(
            "calculator", {"expression": "1+1"})
    assert dispatcher.sent == 3  # the task and two copies


async def test_a_model_round_runs_at_most_the_callsystems_fanout_and_journals_the_rest_refused(
        context, redis_url: str) -> None:
    """One injected message asking for 50 calls in a round: 4 (the default cap) run, 46 are refused, typed."""
    ctx = context()
    calls = [ModelToolCall(id=f"call_{n}", name="calculator", arguments={"expression": f"{n}+1"}) for n in range(50)]
    outputs = await ctx.gather(*(run_tool_call(ctx, call) for call in calls))

    results = [json.loads(message.content) for message, _ in outputs]
    assert [r["value"] for r in results[:4]] == [1, 2, 3, 4]  # the first four, in the order the model asked
    assert all(r["error"] == "tool_fanout_exceeded" for r in results[4:]) and len(results[4:]) == 46
    journal = SyncJournal(redis.Redis.from_url(redis_url, decode_responses=True))
    refused = journal.get(ACTIVATION.id, "tool:calculator:49")
    assert refused is not None and refused.error is not None and refused.error.code == "tool_fanout_exceeded"
    assert refused.worker == "planner"  # refused before any task existed
    assert redis.Redis.from_url(redis_url).llen(keys.Queue.TOOLS.value) == 0

