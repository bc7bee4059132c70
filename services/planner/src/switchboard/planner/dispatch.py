"""Sending step requests to the Celery queues that run them."""

from __future__ import annotations

import asyncio

from celery import Celery

from switchboard.core.keys import Queue, Task
from switchboard.core.wire import ImageRequest, InferenceRequest, StepRequest, ToolCall, VisionRequest

_ROUTES: dict[type, tuple[Task, Queue]] = {
    ToolCall: (Task.RUN_TOOL, Queue.TOOLS),
    InferenceRequest: (Task.RUN_INFERENCE, Queue.INFERENCE),
    ImageRequest: (Task.RUN_INFERENCE, Queue.INFERENCE),
    VisionRequest: (Task.RUN_INFERENCE, Queue.INFERENCE),
}


class StepDispatcher:
    def __init__(self, app: Celery) -> None:
        self._app = app

    async def send(self, request: StepRequest) -> None:
        """Publish the step as a task whose id is `<activation>:<step>`."""
        task, queue = _ROUTES[type(request.payload)]
        # kombu's publish is blocking I/O; a thread keeps the event loop (and trace context) intact.
        await asyncio.to_thread(self._app.send_task, task.value, args=[request.to_json()],
                                task_id=request.task_id, queue=queue.value)
