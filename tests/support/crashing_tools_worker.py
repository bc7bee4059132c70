"""A tools worker with one extra tool, `crash`, that kills its own process: a poison step for fault tests.

Run as `python -m tests.support.crashing_tools_worker` with the tools service's settings; otherwise it is the
real tools worker (same registry, journal, Celery wiring).
"""

from __future__ import annotations

import os
import signal

from switchboard.core.celery_app import make_celery
from switchboard.core.journal import SyncJournal
from switchboard.core.keys import Queue
from switchboard.core.leases import LaneSlots
from switchboard.core.metrics import Metrics
from switchboard.core.redis_client import connect_sync
from switchboard.core.workers import run_worker
from switchboard.tools.builtin import builtin_tools
from switchboard.tools.registry import Tool, ToolRegistry
from switchboard.tools.settings import ToolsSettings
from switchboard.tools.worker import register_tool_task


def crash() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


CRASH = Tool(name="crash", description="Kills the worker that runs it.", parameters={"type": "object"}, run=crash)


def main() -> None:
    settings = ToolsSettings()
    metrics = Metrics()
    metrics.serve(settings.metrics_host, settings.metrics_port)
    client = connect_sync(settings)
    tools = ToolRegistry((*builtin_tools(client), CRASH), (*settings.enabled_tools, "crash"), LaneSlots(client))
    app = make_celery(settings, "switchboard-tools-crashing")
    journal = SyncJournal(client, settings.record_retention_s, settings.step_max_deliveries, settings.task_time_limit_s)
    register_tool_task(app, tools, journal, metrics)
    run_worker(app, Queue.TOOLS.value, settings.concurrency, "tools", settings.log_level)


if __name__ == "__main__":
    main()
