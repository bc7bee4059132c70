"""Replaying activations through real services: a real Redis, a real tools worker and a real inference worker
(Celery threads; the chat role is the OpenAI driver against the local fake API, so integrations really calls
tools), the planner's own loop in this process, and the gateway's reply poster with a Discord API that
records what it is asked to post.

Whether a replay dispatched anything is counted where tasks arrive: Celery's `task_received` signal fires
in each worker for every task message it takes, and the fake model API counts its requests.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import redis
import redis.asyncio as aioredis
from celery.contrib.testing.worker import start_worker
from celery.signals import task_received

from switchboard.core import keys
from switchboard.core.activation_queue import ActivationQueue
from switchboard.core.audit import AuditLog
from switchboard.core.blobs import BlobStore
from switchboard.core.celery_app import make_celery
from switchboard.core.config import ConfigPatch, ConfigStore
from switchboard.core.errors import StepTimeout
from switchboard.core.history import ChannelHistory
from switchboard.core.journal import SyncJournal
from switchboard.core.keys import STREAM_FIELD, Queue, Stream, Task
from switchboard.core.metrics import Metrics
from switchboard.core.plugins import CallContext
from switchboard.core.redis_client import connect_async
from switchboard.core.wire import (
    Activation,
    ActivationRecord,
    ErrorInfo,
    HistoryWindow,
    InferenceResult,
    Outcome,
    Reply,
    StepResult,
    StepTiming,
    ToolResult,
    Trigger,
)
from switchboard.gateway.busy import ChannelWork
from switchboard.gateway.live import LiveReplies
from switchboard.gateway.replies import ReplyPoster
from switchboard.gateway.settings import GatewaySettings
from switchboard.inference.bridge import InferenceBridge, register_inference_task
from switchboard.inference.chat_models import build_chat_models
from switchboard.inference.settings import InferenceSettings
from switchboard.planner.__main__ import build_planner, build_registry
from switchboard.planner.callsystems.integrations import Integrations
from switchboard.planner.callsystems.legacy import Legacy
from switchboard.planner.outcomes import user_text
from switchboard.planner.replay import RecordStore, Replayer, Selection, Verdict, engine
from switchboard.planner.replay.build import build_replayer
from switchboard.planner.replies import ReplyWriter
from switchboard.planner.settings import PlannerSettings
from switchboard.tools.builtin import BUILTIN_TOOLS
from switchboard.tools.registry import ToolRegistry
from switchboard.tools.worker import register_tool_task
from tests.support.fake_chat_api import MODEL, FakeChatApi

GUILD, CHANNEL = "1", "50"
ANSWER = "6*7 is 42."
STEPS = {"history:0", "tool:clock:0", "infer:0", "tool:calculator:0", "infer:1", "recall:channel:0"}
WAIT_S = 60.0
OPERATOR = "ops-alice"
CLI = str(Path(sys.executable).with_name("switchboard"))


class AsksForMore(Integrations):
    """A next version that, once it has answered, also asks for the time again: a step never recorded."""

    version = "1.2.0"
    release_date = date(2026, 12, 1)

    async def activate(self, ctx: CallContext) -> Reply:
        reply = await super().activate(ctx)
        now = await ctx.tool("clock", {})
        return ctx.reply(f"{reply.text} (at {now['iso']})")


class AnswersOtherwise(Integrations):
    """A next version that asks for the same steps and words the answer differently."""

    version = "1.3.0"
    release_date = date(2026, 12, 2)

    async def activate(self, ctx: CallContext) -> Reply:
        reply = await super().activate(ctx)
        return reply.model_copy(update={"text": reply.text.upper()})


class LegacyNext(Legacy):
    """Legacy as it is, as a newer version."""

    version = "1.2.0"
    release_date = date(2026, 12, 3)


@pytest.fixture
def dispatched() -> Iterator[Counter[str]]:
    """Task messages the workers of this process took, by task name."""
    counts: Counter[str] = Counter()

    def received(sender: Any = None, request: Any = None, **_: Any) -> None:
        counts[request.name] += 1

    task_received.connect(received, weak=False)
    yield counts
    task_received.disconnect(received)


@pytest.fixture
def chat_api() -> Iterator[FakeChatApi]:
    with FakeChatApi() as api:
        yield api


@pytest.fixture
def workers(redis_url: str, chat_api: FakeChatApi, dispatched: Counter[str]) -> Iterator[None]:
    """One worker that runs the tools (calculator, clock) and the inference role, whose chat model is the fake
    API. One worker for both queues: two Celery workers in one process do not both run their tasks."""
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    settings = InferenceSettings(redis_url=redis_url, chat_backend="openai", chat_base_url=chat_api.url,
                                 chat_model_name=MODEL, chat_api_key="sk-replay-test", live_interval_s=0)
    app = make_celery(settings, "test-replay-workers")
    tools = ToolRegistry(BUILTIN_TOOLS, enabled=("calculator", "clock"))
    tools.publish(client)
    register_tool_task(app, tools, SyncJournal(client), Metrics())
    chat = build_chat_models(settings, None)
    bridge = InferenceBridge(chat, client, Metrics(), settings.live_interval_s, settings.trace_content)
    register_inference_task(app, bridge, SyncJournal(client), Metrics())
    with start_worker(app, pool="threads", concurrency=4, perform_ping_check=False, loglevel="WARNING",
                      queues=[Queue.TOOLS.value, Queue.INFERENCE.value]):
        yield
    chat.close()
    client.close()


@dataclass
class System:
    client: aioredis.Redis
    replayer: Replayer
    redis_url: str

    async def ask(self, activation_id: str, content: str = "what is 6*7?") -> ActivationRecord:
        """A message queued as the gateway queues it; its record once the planner has answered."""
        activation = Activation(id=activation_id, trigger=Trigger.MENTION, guild_id=GUILD, channel_id=CHANNEL,
                                message_id=activation_id, author_id="7", author_name="alice", content=content)
        await ActivationQueue(self.client, retention_s=600).enqueue(activation)
        return await self.record(activation_id)

    async def record(self, activation_id: str) -> ActivationRecord:
        deadline = time.monotonic() + WAIT_S
        while (raw := await self.client.get(keys.record(activation_id))) is None:
            assert time.monotonic() < deadline, f"no record of {activation_id} after {WAIT_S:g} s"
            await asyncio.sleep(0.05)
        return ActivationRecord.from_json(raw)

    async def replies(self, activation_id: str) -> list[Reply]:
        entries = await self.client.xrange(Stream.REPLIES)
        return [r for r in (Reply.from_json(f[STREAM_FIELD]) for _, f in entries) if r.activation_id == activation_id]

    async def queued(self) -> int:
        return await self.client.llen(Queue.TOOLS.value) + await self.client.llen(Queue.INFERENCE.value)


@pytest.fixture
async def system(redis_url: str, workers: None) -> AsyncIterator[System]:
    """The planner's loop on integrations (this channel allows calculator and clock), and a replayer that also
    knows two newer test versions of integrations (the planner does not: it runs 1.1.0)."""
    settings = PlannerSettings(redis_url=redis_url, planner_id="planner-replay", read_block_ms=100,
                               step_timeout_s=30, wake_poll_s=0.1)
    client, blob_client = connect_async(settings), connect_async(settings, decode_responses=False)
    await ConfigStore(client).update_channel(CHANNEL, ConfigPatch(callsystem="cs.switchboard.integrations@latest",
                                                                  allowed_tools=("calculator", "clock")))
    planner = build_planner(settings, client, Metrics(), blob_client=blob_client)
    stop = asyncio.Event()
    loop = asyncio.create_task(planner.run(stop))
    registry = build_registry()
    registry.register(AsksForMore)
    registry.register(AnswersOtherwise)
    yield System(client, build_replayer(settings, client, blob_client, registry, live_timeout_s=WAIT_S), redis_url)
    stop.set()
    await asyncio.wait_for(loop, 30)
    await client.aclose()
    await blob_client.aclose()


def script_tool_round(chat_api: FakeChatApi) -> None:
    """The model asks for the calculator, then answers with what it returned."""
    chat_api.script(tool_calls=[{"name": "calculator", "arguments": {"expression": "6*7"}}])
    chat_api.script(text=ANSWER)


async def answered(system: System, chat_api: FakeChatApi, activation_id: str) -> ActivationRecord:
    script_tool_round(chat_api)
    record = await system.ask(activation_id)
    assert (record.outcome, record.reply_text, record.callsystem) == (Outcome.REPLIED, ANSWER, Integrations.package_id)
    assert {step.step for step in record.steps} == STEPS and record.allowed_tools == ("calculator", "clock")
    return record


class Snapshot:
    """What a replay that dispatches nothing and writes nothing leaves exactly as it was."""

    @classmethod
    async def of(cls, system: System, chat_api: FakeChatApi, dispatched: Counter[str], activation_id: str) -> Snapshot:
        self = cls()
        self.tasks = dict(dispatched)
        self.model_requests = len(chat_api.requests)
        self.journal = await system.client.hgetall(keys.journal(activation_id))
        self.replies = await system.client.xlen(Stream.REPLIES)
        return self

    async def unchanged(self, system: System, chat_api: FakeChatApi, dispatched: Counter[str],
                        activation_id: str) -> None:
        await asyncio.sleep(0.5)  # a task sent by the replay would have reached a worker by now
        assert dict(dispatched) == self.tasks
        assert await system.queued() == 0
        assert len(chat_api.requests) == self.model_requests
        assert await system.client.hgetall(keys.journal(activation_id)) == self.journal
        assert await system.client.xlen(Stream.REPLIES) == self.replies


async def test_a_recorded_replay_answers_the_same_and_dispatches_nothing(
        system: System, chat_api: FakeChatApi, dispatched: Counter[str]) -> None:
    await answered(system, chat_api, "900")
    # The original really ran: two tool tasks and two model tasks reached the workers.
    assert dispatched[Task.RUN_TOOL.value] == 2 and dispatched[Task.RUN_INFERENCE.value] == 2
    before = await Snapshot.of(system, chat_api, dispatched, "900")

    report = await system.replayer.replay("900", operator=OPERATOR)

    assert report.verdict == Verdict.MATCHES and report.matches is True and report.error is None
    assert report.replayed is not None and report.replayed.text == report.original.text == ANSWER  # type: ignore[union-attr]
    assert report.replayed.outcome == Outcome.REPLIED
    assert report.callsystem == report.original_callsystem == Integrations.key()
    assert set(report.steps_used) == STEPS and report.not_recorded == () and report.unused == ()
    assert report.mode == "recorded" and report.delivery == "off" and report.duration_s >= 0
    await before.unchanged(system, chat_api, dispatched, "900")
    assert not await system.client.exists(keys.journal(report.replay_id), keys.record(report.replay_id))
    [entry] = await AuditLog(system.client).latest()
    assert (entry.action, entry.operator, entry.target, entry.mode, entry.callsystem, entry.result_id) == (
        "replay", OPERATOR, "900", "recorded", Integrations.key(), report.replay_id)
    assert entry.deliver is False and abs(entry.at - report.started_at) < 5


async def test_a_replay_with_another_version_reports_the_differences(
        system: System, chat_api: FakeChatApi, dispatched: Counter[str]) -> None:
    await answered(system, chat_api, "901")
    before = await Snapshot.of(system, chat_api, dispatched, "901")

    more = await system.replayer.replay("901", callsystem=AsksForMore.key(), operator=OPERATOR)
    assert more.verdict == Verdict.DIFFERS and more.matches is False
    assert more.callsystem == "cs.switchboard.integrations@1.2.0" and more.original_callsystem == Integrations.key()
    assert more.not_recorded == ("tool:clock:1",)  # asked for, never recorded: the run stopped, nothing was sent
    assert more.error is not None and more.error.code == "step_not_recorded" and "tool:clock:1" in more.error.message
    assert more.replayed is None and set(more.steps_used) == STEPS

    otherwise = await system.replayer.replay("901", callsystem=AnswersOtherwise.key(), operator=OPERATOR)
    assert otherwise.verdict == Verdict.DIFFERS and otherwise.matches is False and otherwise.error is None
    assert otherwise.not_recorded == () and otherwise.replayed is not None
    assert otherwise.replayed.text == ANSWER.upper() and otherwise.original.text == ANSWER  # type: ignore[union-attr]

    await before.unchanged(system, chat_api, dispatched, "901")
    audited = await AuditLog(system.client).latest()
    assert [(e.target, e.callsystem, e.operator) for e in audited] == [
        ("901", AnswersOtherwise.key(), OPERATOR), ("901", AsksForMore.key(), OPERATOR)]


async def test_unknown_activations_and_versions_are_failed_reports(system: System, chat_api: FakeChatApi) -> None:
    await answered(system, chat_api, "902")
    missing = await system.replayer.replay("404", operator=OPERATOR)
    assert missing.verdict == Verdict.FAILED and missing.error.code == "no_record"  # type: ignore[union-attr]
    unknown = await system.replayer.replay("902", callsystem="cs.switchboard.integrations@9.9.9", operator=OPERATOR)
    assert unknown.verdict == Verdict.FAILED and unknown.error.code == "unknown_callsystem"  # type: ignore[union-attr]
    assert len(await AuditLog(system.client).latest()) == 2  # attempts are audited too


async def test_a_batch_replays_each_against_its_own_journal_in_order_and_audits_each_once(
        system: System, chat_api: FakeChatApi, dispatched: Counter[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches are planned a few at a time (records, journals and audit entries read and written together):
    with two per plan, five replays cross plans; each must still run against its own original's steps."""
    monkeypatch.setattr(engine, "READ_AHEAD", 2)
    ids = ["910", "911", "912", "913"]
    for n, activation_id in enumerate(ids):
        chat_api.script(tool_calls=[{"name": "calculator", "arguments": {"expression": "6*7"}}])
        chat_api.script(text=f"6*7 is 42 (answer {n}).")
        await system.ask(activation_id)
        await post_all(system, await system.replies(activation_id))  # its turn ends: the channel's next one starts
    before = await Snapshot.of(system, chat_api, dispatched, "910")
    progress: list[tuple[int, int, str]] = []

    reports = await system.replayer.replay_many(
        [*ids, "404"], operator=OPERATOR, concurrency=2,
        progress=lambda done, total, report: progress.append((done, total, report.activation_id)))

    assert [r.activation_id for r in reports] == [*ids, "404"]
    assert [r.verdict for r in reports] == [Verdict.MATCHES] * 4 + [Verdict.FAILED]
    assert [r.replayed.text for r in reports[:4]] == [f"6*7 is 42 (answer {n})." for n in range(4)]  # type: ignore[union-attr]
    assert all(set(r.steps_used) == STEPS for r in reports[:4]) and reports[4].error.code == "no_record"  # type: ignore[union-attr]
    assert [done for done, _, _ in progress] == [1, 2, 3, 4, 5] and {t for _, t, _ in progress} == {5}
    audited = await AuditLog(system.client).latest()
    assert sorted(e.target for e in audited) == sorted([*ids, "404"])
    assert {e.target: e.result_id for e in audited if e.target != "404"} == {r.activation_id: r.replay_id
                                                                           for r in reports[:4]}
    await before.unchanged(system, chat_api, dispatched, "910")


async def cli(system: System, *args: str) -> tuple[int, str, str]:
    """The `switchboard` console script, as an operator runs it (this loop keeps running the planner)."""
    process = await asyncio.create_subprocess_exec(
        CLI, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "SWITCHBOARD_REDIS_URL": system.redis_url, "SWITCHBOARD_OPERATOR": "ops-cli"})
    out, err = await asyncio.wait_for(process.communicate(), WAIT_S)
    return process.returncode or 0, out.decode(), err.decode()


async def test_the_cli_prints_a_readable_report_and_json(system: System, chat_api: FakeChatApi) -> None:
    await answered(system, chat_api, "903")

    status, out, _ = await cli(system, "replay", "903")
    assert status == 0, out
    assert out.startswith(f"recorded replay of 903 with {Integrations.key()}: MATCHES")
    assert f"│ {ANSWER}" in out and "steps from the journal (6)" in out and "by ops-cli" in out

    # Legacy reads the recorded model call as an empty answer, and would count it towards amnesia: a write
    # the original never made.
    status, out, _ = await cli(system, "replay", "903", "--json", "--callsystem", Legacy.key())
    assert status == 1  # a recorded replay that differs
    document = json.loads(out)
    [report] = document["reports"]
    assert (report["verdict"], report["matches"], report["not_recorded"]) == ("differs", False, ["remember:channel:0"])
    assert report["unused"] == ["tool:calculator:0", "infer:1"] and report["callsystem"] == Legacy.key()
    assert document["summary"]["total"] == 1 and document["summary"]["differs"] == 1

    status, out, _ = await cli(system, "replay", "--outcome", "replied", "--since", "1h", "--dry-run", "--json")
    assert (status, json.loads(out)) == (0, ["903"])
    status, out, _ = await cli(system, "replay", "--outcome", "model_unavailable", "--since", "1h", "--json")
    assert (status, json.loads(out)["summary"]["total"]) == (0, 0)

    status, out, _ = await cli(system, "replay", "404")
    assert status == 3 and "no record of activation 404" in out
    status, _, err = await cli(system, "replay")
    assert status == 2 and "name activation ids or a selection" in err
    assert [e.operator for e in await AuditLog(system.client).latest()] == ["ops-cli"] * 3


class RecordingDiscord:
    """The Discord API as the gateway's reply poster calls it: every post is kept, and answered."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, str, str]] = []  # (channel, replying to, text)

    async def send_reply(self, channel_id: str, reply_to: str, content: str, nonce: str) -> Any:
        self.posts.append((channel_id, reply_to, content))
        return SimpleNamespace(id=10_000 + len(self.posts), content=content)

    async def react(self, channel_id: str, message_id: str, emoji: str) -> None:
        """An error notice's reaction (⚠️, ❌) on the message it answers."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the poster called Discord's {name}")


async def post_all(system: System, replies: list[Reply]) -> RecordingDiscord:
    """Hand replies to the gateway's real reply poster, as its stream consumer would."""
    discord_api = RecordingDiscord()
    settings = GatewaySettings(redis_url=system.redis_url)
    blobs = BlobStore(system.client, 60)
    poster = ReplyPoster(system.client, discord_api, LiveReplies(system.client, discord_api, 1.0, 60),  # type: ignore[arg-type]
                         ChannelHistory(system.client, 10), ChannelWork(system.client, 60), blobs, Metrics(), settings)
    for reply in replies:
        assert await poster.post(reply)
    return discord_api


async def test_a_live_replay_runs_again_as_a_new_activation_and_posts_nothing(
        system: System, chat_api: FakeChatApi, dispatched: Counter[str]) -> None:
    await answered(system, chat_api, "904")
    tasks_before = sum(dispatched.values())
    script_tool_round(chat_api)  # what the model says when asked again

    report = await system.replayer.replay("904", mode="live", operator=OPERATOR)

    assert report.error is None and report.verdict == Verdict.MATCHES and report.delivery == "off"
    assert report.replay_id is not None and report.replay_id != "904" and set(report.steps_used) == STEPS
    assert sum(dispatched.values()) == tasks_before + 4  # every step ran again on the workers
    again = await system.record(report.replay_id)
    assert again.activation.replay_of == "904" and again.activation.deliver is False
    assert again.activation.callsystem == Integrations.key() and not any(s.from_journal for s in again.steps)
    [reply] = await system.replies(report.replay_id)
    assert (reply.replay_of, reply.deliver, reply.interaction, reply.text) == ("904", False, None, ANSWER)
    assert (await post_all(system, [reply])).posts == []  # the gateway posts nothing for it
    [entry] = await AuditLog(system.client).latest()
    assert (entry.mode, entry.target, entry.result_id) == ("live", "904", report.replay_id)


async def test_deliver_posts_once_through_the_normal_path_unless_forced(system: System, chat_api: FakeChatApi) -> None:
    await answered(system, chat_api, "905")
    [original] = await system.replies("905")
    assert (await post_all(system, [original])).posts == [(CHANNEL, "905", ANSWER)]  # the original, posted

    skipped = await system.replayer.replay("905", deliver=True, operator=OPERATOR)
    assert skipped.verdict == Verdict.MATCHES
    assert skipped.delivery.startswith("skipped: the original's reply was posted")
    assert await system.replies(skipped.replay_id or "") == []

    forced = await system.replayer.replay("905", deliver=True, force=True, operator=OPERATOR)
    assert forced.delivery == "queued"
    [reply] = await system.replies(forced.replay_id or "")
    assert (reply.replay_of, reply.deliver, reply.reply_to_message_id) == ("905", True, "905")
    assert (await post_all(system, [reply, reply])).posts == [(CHANNEL, "905", ANSWER)]  # posted once
    record = await system.record(forced.replay_id or "")
    assert record.activation.replay_of == "905" and all(step.from_journal for step in record.steps)
    assert [(e.deliver, e.force) for e in await AuditLog(system.client).latest()] == [(True, True), (True, False)]


async def test_a_replay_sees_what_the_original_saw_not_what_came_later(redis_url: str) -> None:
    """The original timed out waiting for its model call, whose result a worker journaled later: a replay
    of the same version ends where the original did, and no version reads the late result."""
    settings = PlannerSettings(redis_url=redis_url)
    client, blob_client = connect_async(settings), connect_async(settings, decode_responses=False)
    timeout = StepTimeout("step infer:0 of 906 not done after 30 s")
    seen = [StepResult(activation_id="906", step="history:0", output=HistoryWindow()),
            StepResult(activation_id="906", step="tool:clock:0", output=ToolResult(name="clock", output={
                "iso": "2026-11-21T10:00:00+00:00"}))]
    late = StepResult(activation_id="906", step="infer:0", output=InferenceResult(text="too late", finish_reason="stop",
                                                                                   model="m"))
    for result in [*seen, late]:
        await client.hset(keys.journal("906"), result.step, result.to_json())
    activation = Activation(id="906", trigger=Trigger.DM, channel_id="60", message_id="906", author_id="7",
                            author_name="alice", content="hello")
    text = user_text(Outcome.BUDGET_EXCEEDED, timeout)
    await client.set(keys.record("906"), ActivationRecord(
        activation=activation, callsystem=Legacy.package_id, callsystem_version=Legacy.version, persona="switchboard",
        planner_id="p", outcome=Outcome.BUDGET_EXCEEDED, error=ErrorInfo.of(timeout), started_at=1.0, finished_at=2.0,
        steps=tuple(StepTiming(step=r.step) for r in seen), reply_text=text).to_json())
    registry = build_registry()
    registry.register(LegacyNext)
    replayer = build_replayer(settings, client, blob_client, registry)

    same = await replayer.replay("906", operator=OPERATOR)
    assert same.verdict == Verdict.MATCHES and same.replayed.text == text  # type: ignore[union-attr]
    assert same.original_stop == "infer:0" and same.not_recorded == ()
    assert same.steps_used == ("history:0", "tool:clock:0")
    next_version = await replayer.replay("906", callsystem=LegacyNext.key(), operator=OPERATOR)
    assert next_version.not_recorded == ("infer:0",) and next_version.original_stop is None  # the late result is unread
    await client.delete(keys.journal("906"))
    gone = await replayer.replay("906", operator=OPERATOR)
    assert gone.verdict == Verdict.FAILED and gone.error.code == "journal_missing"  # type: ignore[union-attr]
    await client.aclose()
    await blob_client.aclose()


async def test_the_record_index_forgets_ids_past_the_retention(redis_url: str) -> None:
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    writer, now = ReplyWriter(client, retention_s=60), time.time()
    for activation_id, finished in (("old", now - 120), ("new", now)):
        activation = Activation(id=activation_id, trigger=Trigger.DM, channel_id="c", message_id=activation_id,
                                author_id="7", author_name="alice", content="hi")
        await writer.write(
            Reply(activation_id=activation_id, channel_id="c", reply_to_message_id=activation_id,
                  outcome=Outcome.REPLIED, text="hi"),
            ActivationRecord(activation=activation, callsystem="cs.x.y", callsystem_version="1.0.0", persona="p",
                             planner_id="p", outcome=Outcome.REPLIED, started_at=finished, finished_at=finished))
    assert await client.zrange(keys.RECORDS, 0, -1) == ["new"]  # the old one's record expires with it
    assert [r.activation.id for r in await RecordStore(client).select(Selection(since=now - 5))] == ["new"]
    await client.aclose()


async def test_deliver_answers_an_original_that_only_got_an_error_notice(system: System, chat_api: FakeChatApi) -> None:
    chat_api.fail_next(400, {"error": {"message": "the model is down"}})  # the caller model
    chat_api.fail_next(400, {"error": {"message": "the model is down"}})  # and legacy's answer after it
    failed = await system.ask("906")
    assert failed.outcome == Outcome.MODEL_UNAVAILABLE
    [notice] = await system.replies("906")
    assert len((await post_all(system, [notice])).posts) == 1  # the user saw the error notice

    script_tool_round(chat_api)  # the fault is fixed
    report = await system.replayer.replay("906", mode="live", deliver=True, operator=OPERATOR)

    assert report.delivery == "queued" and report.replayed is not None
    assert (report.replayed.outcome, report.replayed.text) == (Outcome.REPLIED, ANSWER)
    [answer] = await system.replies(report.replay_id or "")
    assert (answer.deliver, answer.replay_of) == (True, "906")


async def test_the_same_delivered_replay_asked_three_times_at_once_answers_once(system: System,
                                                                                chat_api: FakeChatApi) -> None:
    """F17: a double click or a client retry on a delivered replay is the same replay: one answer, posted once."""
    chat_api.fail_next(400, {"error": {"message": "the model is down"}})
    chat_api.fail_next(400, {"error": {"message": "the model is down"}})
    assert (await system.ask("907")).outcome == Outcome.MODEL_UNAVAILABLE
    script_tool_round(chat_api)  # the fault is fixed: one run's worth of answers

    reports = await asyncio.gather(*(system.replayer.replay("907", mode="live", deliver=True, operator=OPERATOR)
                                     for _ in range(3)))

    assert {report.replay_id for report in reports} == {"replay-907-delivered"}
    assert all(report.replayed is not None and report.replayed.text == ANSWER for report in reports)
    replies = await system.replies("replay-907-delivered")
    assert len(replies) == 1
    assert (await post_all(system, replies * 3)).posts == [(CHANNEL, "907", ANSWER)]
