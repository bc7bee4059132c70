"""The example in docs/adding-a-callsystem.md works as written (real Redis, real tools worker)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

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

DOC = Path(__file__).parents[2] / "docs" / "adding-a-callsystem.md"


def example_callsystem() -> type:
    code = re.search(r"```python\n(.*?)```", DOC.read_text(), re.DOTALL).group(1)  # type: ignore[union-attr]
    namespace: dict = {"__name__": "docs_example"}
    exec(compile(code, str(DOC), "exec"), namespace)  # the documented example, exactly as a reader copies it
    return namespace["Counter"]


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
    registry.register(example_callsystem())
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
