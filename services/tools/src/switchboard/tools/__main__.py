"""`python -m switchboard.tools`: a Celery worker on `sb.tools` running the enabled tools."""

from __future__ import annotations

from switchboard.core.celery_app import make_celery
from switchboard.core.journal import SyncJournal
from switchboard.core.keys import Queue
from switchboard.core.leases import LaneSlots
from switchboard.core.logs import setup_logging
from switchboard.core.memory import MemoryLimits
from switchboard.core.metrics import Metrics
from switchboard.core.redis_client import connect_sync
from switchboard.core.tracing import setup_tracing
from switchboard.core.workers import instrument_celery, run_worker
from switchboard.tools.builtin import builtin_tools
from switchboard.tools.registry import ToolRegistry
from switchboard.tools.settings import ToolsSettings
from switchboard.tools.worker import register_tool_task


def main() -> None:
    settings = ToolsSettings()
    setup_logging("tools", settings.log_level)
    setup_tracing("switchboard-tools")
    instrument_celery()
    metrics = Metrics()
    metrics.serve(settings.metrics_host, settings.metrics_port)
    app = make_celery(settings, "switchboard-tools")
    client = connect_sync(settings)
    memory_limits = MemoryLimits(settings.memory_max_fields, settings.memory_ttl_s)
    tools = ToolRegistry(builtin_tools(client, settings.sleep_ttl_s, memory_limits), settings.enabled_tools,
                         LaneSlots(client))
    tools.publish(client)
    journal = SyncJournal(client, settings.record_retention_s, settings.step_max_deliveries,
                          settings.task_time_limit_s)
    register_tool_task(app, tools, journal, metrics)
    run_worker(app, Queue.TOOLS.value, settings.concurrency, "tools", settings.log_level)


if __name__ == "__main__":
    main()
