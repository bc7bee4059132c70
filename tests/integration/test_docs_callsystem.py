"""The example in docs/adding-a-callsystem.md works as written (real Redis, real tools worker)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from celery import Celery
from celery.contrib.testing.worker import start_worker

from switchboard.core.celery_app import make_celery
from switchboard.core.journal import SyncJournal
from switchboard.core.metrics import Metrics
from switchboard.core.plugins import CallsystemRegistry
from switchboard.core.redis_client import connect_async, connect_sync
from switchboard.core.wire import Activation, Outcome, Trigger
from switchboard.planner.__main__ import build_planner
from switchboard.planner.settings import PlannerSettings
from switchboard.tools.builtin import BUILTIN_TOOLS
from switchboard.tools.registry import ToolRegistry
from switchboard.tools.worker import register_tool_task
from tests.support.docs import documented_example


@pytest.fixture
def tools_worker(redis_url: str) -> Iterator[Celery]:
    settings = PlannerSettings(redis_url=redis_url)
    app = make_celery(settings, "docs-tools")
    tools, client = ToolRegistry(BUILTIN_TOOLS, ("calculator", "clock")), connect_sync(settings)
    tools.publish(client)
    register_tool_task(app, tools, SyncJournal(client), Metrics())
    with start_worker(app, pool="threads", concurrency=2, perform_ping_check=False, loglevel="WARNING",
                      queues=["sb.tools"]):
        yield app


async def test_the_documented_callsystem_counts_messages(redis_url: str, tools_worker: Celery) -> None:
    registry = CallsystemRegistry()
    registry.register(documented_example("adding-a-callsystem.md", "Counter"))
    settings = PlannerSettings(redis_url=redis_url, default_callsystem="cs.example.counter@latest")
    client = connect_async(settings)
    planner = build_planner(settings, client, Metrics(), registry)
    async with planner.step_results():
        texts = []
        for n in (1, 2):
            activation = Activation(id=f"doc-{n}", trigger=Trigger.MENTION, channel_id="c", message_id=f"doc-{n}",
                                    author_id="u1", author_name="alice", content="count me")
            reply, record = await planner.process(activation)
            assert reply.outcome == Outcome.REPLIED and record.callsystem == "cs.example.counter"
            texts.append(reply.text)
    assert texts == ["alice, that is message number 1 you sent me.", "alice, that is message number 2 you sent me."]
    await client.aclose()
