"""Tools backed by model roles (`imagine`, `describe_image`) and the `sleep` tool, through a real planner
context, a real Redis and real Celery workers (a tools worker and an inference worker with no image role)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator, Callable, Iterator

import pytest
import redis
import redis.asyncio as aioredis
from celery import Celery
from celery.contrib.testing.worker import start_worker

from switchboard.core import keys
from switchboard.core.blobs import BlobStore
from switchboard.core.celery_app import make_celery
from switchboard.core.errors import InvalidToolArguments, ToolNotAllowed
from switchboard.core.history import ChannelHistory
from switchboard.core.journal import Journal, SyncJournal
from switchboard.core.keys import Queue
from switchboard.core.memory import MemoryStore
from switchboard.core.metrics import Metrics
from switchboard.core.plugins import Persona
from switchboard.core.settings import ServiceSettings
from switchboard.core.tool_catalog import ToolCatalog
from switchboard.core.wire import Activation, AttachmentRef, ModelToolCall, StepResult, Trigger
from switchboard.inference.bridge import InferenceBridge, register_inference_task
from switchboard.inference.chat_models import ChatModels
from switchboard.planner.callsystems.integrations import run_tool_call
from switchboard.planner.context import ContextServices, StepContext, Supersession
from switchboard.planner.dispatch import StepDispatcher
from switchboard.planner.waiter import StepWaiter
from switchboard.tools.builtin import builtin_tools
from switchboard.tools.registry import ToolRegistry
from switchboard.tools.worker import register_tool_task
from tests.support.echo_chat import EchoChat

SLEEP_TTL_S = 600
PHOTO = AttachmentRef(filename="photo.png", content_type="image/png", size=10, sha256="a" * 64, media="image",
                      width=4, height=3)
ROLE_TOOLS = frozenset({"imagine", "describe_image"})
MakeContext = Callable[..., StepContext]
_ids = iter(range(5000, 6000))


@pytest.fixture
def workers(redis_url: str) -> Iterator[Celery]:
    """A tools worker (calculator, clock, sleep) and an inference worker without an image role, one app."""
    settings = ServiceSettings(redis_url=redis_url)
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    app, metrics = make_celery(settings, "test-role-tools"), Metrics()
    tools = ToolRegistry(builtin_tools(client, SLEEP_TTL_S), enabled=("calculator", "clock", "sleep"))
    tools.publish(client)
    register_tool_task(app, tools, SyncJournal(client), metrics)
    register_inference_task(app, InferenceBridge(ChatModels.single(EchoChat(), "echo"), client, metrics, 0.1, False),
                            SyncJournal(client), metrics)
    with start_worker(app, pool="threads", concurrency=2, perform_ping_check=False, loglevel="WARNING",
                      queues=[Queue.TOOLS.value, Queue.INFERENCE.value]):
        yield app


@pytest.fixture
async def context(redis_url: str, workers: Celery) -> AsyncIterator[MakeContext]:
    """`context(allowed, *attachments, guild_id=...)`: a StepContext for a new activation in channel c1."""
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    journal = Journal(client)
    waiter = StepWaiter(client, journal, "sb:wake:test-role-tools", poll_s=0.2)
    await waiter.start()
    listener = asyncio.create_task(waiter.listen())
    used = dict(journal=journal, waiter=waiter, dispatcher=StepDispatcher(workers), history=ChannelHistory(client, 10),
                metrics=Metrics(), step_timeout_s=20, supersession=Supersession(client), blobs=BlobStore(client, 60),
                memory=MemoryStore(client), tools=ToolCatalog(client))
    # Services for other features (agent groups' posting, lanes, ...) are never reached by tool calls.
    services = ContextServices(**{f.name: used.get(f.name) for f in dataclasses.fields(ContextServices)
                                  if f.default is dataclasses.MISSING})

    def make(allowed: frozenset[str], *attachments: AttachmentRef, guild_id: str | None = "g1") -> StepContext:
        activation_id = str(next(_ids))
        activation = Activation(id=activation_id, trigger=Trigger.MENTION, guild_id=guild_id, channel_id="c1",
                                message_id=activation_id, author_id="alice", author_name="alice",
                                content="draw me something", attachments=attachments)
        return StepContext(activation, Persona("p", "be brief"), services, allowed)

    yield make
    listener.cancel()
    await waiter.close()
    await client.aclose()


def queued(redis_url: str) -> int:
    client = redis.Redis.from_url(redis_url)
    return client.llen(Queue.INFERENCE.value) + client.llen(Queue.TOOLS.value)


def recorded(redis_url: str, ctx: StepContext, step: str) -> StepResult | None:
    return SyncJournal(redis.Redis.from_url(redis_url, decode_responses=True)).get(ctx.activation.id, step)


@pytest.mark.parametrize(("name", "arguments", "step"), [
    ("imagine", {"prompt": "a fox"}, "image:0"),
    ("describe_image", {"image": "photo.png"}, "vision:0"),
])
async def test_a_role_tool_the_channel_does_not_allow_is_refused_and_nothing_is_queued(
        context: MakeContext, redis_url: str, name: str, arguments: dict, step: str) -> None:
    ctx = context(frozenset({"clock"}), PHOTO)
    with pytest.raises(ToolNotAllowed, match=name):
        await ctx.tool(name, arguments)
    assert queued(redis_url) == 0
    refusal = recorded(redis_url, ctx, step)
    assert refusal is not None and refusal.error.code == "tool_not_allowed" and refusal.worker == "planner"


@pytest.mark.parametrize(("name", "arguments", "detail"), [
    ("imagine", {"prompt": ""}, "prompt"),
    ("imagine", {"prompt": "a fox", "size": "4000x4000"}, "size"),
    ("imagine", {"prompt": "a fox", "steps": 50}, "steps"),
    ("describe_image", {"image": "cat.png"}, "attached images: 0: photo.png"),
    ("describe_image", {"image": 3}, "no attached image 3"),
])
async def test_role_tool_arguments_are_checked_before_any_step_is_queued(
        context: MakeContext, redis_url: str, name: str, arguments: dict, detail: str) -> None:
    ctx = context(ROLE_TOOLS, PHOTO)
    with pytest.raises(InvalidToolArguments, match=detail):
        await ctx.tool(name, arguments)
    assert queued(redis_url) == 0


async def test_role_tools_are_shown_to_the_model_when_allowed_and_useful(context: MakeContext) -> None:
    no_image = await context(ROLE_TOOLS | {"clock"}).tool_specs()
    assert [spec.name for spec in no_image] == ["clock", "imagine"]  # nothing to describe
    with_image = await context(ROLE_TOOLS | {"clock"}, PHOTO).tool_specs()
    assert [spec.name for spec in with_image] == ["clock", "describe_image", "imagine"]
    imagine = with_image[2]
    assert imagine.parameters["required"] == ["prompt"] and "attached to your reply" in imagine.description
    assert [spec.name for spec in await context(frozenset({"clock"}), PHOTO).tool_specs()] == ["clock"]


async def test_without_an_image_role_the_model_reads_role_not_configured(context: MakeContext, redis_url: str) -> None:
    ctx = context(ROLE_TOOLS)
    message = await run_tool_call(ctx, ModelToolCall(id="c1", name="imagine", arguments={"prompt": "a red fox"}))
    assert json.loads(message[0].content)["error"] == "role_not_configured" and message[1] == ()
    step = recorded(redis_url, ctx, "image:0")  # it ran as a role step on the inference worker
    assert step is not None and step.error.code == "role_not_configured" and step.worker != "planner"


async def test_sleep_marks_the_channel_asleep_for_a_bounded_time(context: MakeContext, redis_url: str) -> None:
    ctx = context(frozenset({"sleep"}))
    assert await ctx.tool("sleep", {}) == {"asleep": True, "until": "someone mentions you", "at_most_s": SLEEP_TTL_S}
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    assert client.get(keys.asleep("c1")) == ctx.activation.id
    assert 0 < client.ttl(keys.asleep("c1")) <= SLEEP_TTL_S
    with pytest.raises(InvalidToolArguments):
        await context(frozenset({"sleep"})).tool("sleep", {"hours": 100})


async def test_sleep_in_a_dm_changes_nothing(context: MakeContext, redis_url: str) -> None:
    assert (await context(frozenset({"sleep"}), guild_id=None).tool("sleep", {}))["asleep"] is False
    assert not redis.Redis.from_url(redis_url).exists(keys.asleep("c1"))
