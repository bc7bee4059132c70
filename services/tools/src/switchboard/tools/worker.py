"""The tools worker's Celery task: run one tool step and journal its result."""

from __future__ import annotations

from celery import Celery

from switchboard.core.journal import SyncJournal
from switchboard.core.keys import Task
from switchboard.core.metrics import Metrics
from switchboard.core.steps import execute_step
from switchboard.core.tracing import tracer
from switchboard.core.wire import StepRequest, ToolCall, ToolResult
from switchboard.tools.registry import ToolRegistry

HOP = "tool"


def run_tool_step(request: StepRequest, tools: ToolRegistry) -> ToolResult:
    call = request.payload
    if not isinstance(call, ToolCall):
        raise TypeError(f"{request.task_id}: a tools worker got a {call.kind}")
    with tracer().start_as_current_span(f"execute_tool {call.name}", attributes={
        "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": call.name,
        "switchboard.activation_id": request.activation_id,
    }):
        return ToolResult(name=call.name, output=tools.call(call.name, call.arguments, call.context))


def register_tool_task(app: Celery, tools: ToolRegistry, journal: SyncJournal, metrics: Metrics) -> None:
    """Register `sb.tools.run` on `app`, bound to these dependencies."""

    @app.task(name=Task.RUN_TOOL.value, shared=False)  # shared tasks would leak into every app
    def run_tool(raw_request: str) -> None:
        execute_step(raw_request, lambda req: run_tool_step(req, tools), journal, metrics, HOP)
