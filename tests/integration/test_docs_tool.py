"""The example in docs/adding-a-tool.md works as written, through a planner context and a real worker."""

from __future__ import annotations

import pytest
from celery.contrib.testing.worker import start_worker

from switchboard.core.activation_queue import ActivationQueue
from switchboard.core.blobs import BlobStore
from switchboard.core.celery_app import make_celery
from switchboard.core.errors import InvalidToolArguments
from switchboard.core.history import ChannelHistory
from switchboard.core.journal import Journal, SyncJournal
from switchboard.core.lanes import LaneBoard
from switchboard.core.memory import MemoryStore
from switchboard.core.metrics import Metrics
from switchboard.core.plugins import Persona
from switchboard.core.redis_client import connect_async, connect_sync
from switchboard.core.settings import ServiceSettings
from switchboard.core.tool_catalog import ToolCatalog
from switchboard.core.wire import Activation, Trigger
from switchboard.planner.context import ContextServices, StepContext, Supersession
from switchboard.planner.dispatch import StepDispatcher
from switchboard.planner.replies import ReplyWriter
from switchboard.planner.turns import ChannelTurns
from switchboard.planner.waiter import StepWaiter
from switchboard.tools.registry import ToolRegistry
from switchboard.tools.worker import register_tool_task
from tests.support.docs import documented_example


async def test_the_documented_tool_runs_through_the_journal_path(redis_url: str) -> None:
    settings = ServiceSettings(redis_url=redis_url)
    tools = ToolRegistry([documented_example("adding-a-tool.md", "WORD_COUNT")], enabled=["word_count"])  # type: ignore[list-item]
    sync = connect_sync(settings)
    tools.publish(sync)
    app = make_celery(settings, "docs-tool")
    register_tool_task(app, tools, SyncJournal(sync), Metrics())
    client = connect_async(settings)
    journal = Journal(client)
    waiter = StepWaiter(client, journal, "sb:wake:docs", poll_s=0.2)
    services = ContextServices(journal=journal, waiter=waiter, dispatcher=StepDispatcher(app),
                               history=ChannelHistory(client, 10), metrics=Metrics(), step_timeout_s=20,
                               supersession=Supersession(client), blobs=BlobStore(client, 60),
                               memory=MemoryStore(client), tools=ToolCatalog(client),
                               replies=ReplyWriter(client, 60), lanes=LaneBoard(client),
                               queue=ActivationQueue(client, 60), turns=ChannelTurns(client, 60))
    activation = Activation(id="doc-tool", trigger=Trigger.DM, channel_id="c", message_id="doc-tool",
                            author_id="u", author_name="u", content="count")
    ctx = StepContext(activation, Persona("p", "x"), services, frozenset({"word_count"}))
    with start_worker(app, pool="threads", concurrency=1, perform_ping_check=False, loglevel="WARNING",
                      queues=["sb.tools"]):
        await waiter.start()
        try:
            assert await ctx.tool("word_count", {"text": "to be or not to be"}) == {"words": 6}
            assert await ctx.tool("word_count", {"text": "to be or not to be", "unique": True}) == {"words": 4}
            with pytest.raises(InvalidToolArguments, match="word_count"):
                await ctx.tool("word_count", {"text": 42})
        finally:
            await waiter.close()
    await client.aclose()
