"""Celery wiring shared by the planner (producer) and the tools and inference workers (consumers).

JSON only; late acks with reject-on-worker-lost so a task whose worker dies is delivered again; one task
in flight per worker slot; a hard time limit below the broker's visibility timeout; kombu's unacked
restore run every second so a dead worker's task comes back in seconds, not minutes.
"""

from __future__ import annotations

from celery import Celery
from kombu import Queue as KombuQueue

from switchboard.core.keys import Queue, Task
from switchboard.core.settings import ServiceSettings


def make_celery(settings: ServiceSettings, name: str) -> Celery:
    """A configured Celery app; nothing connects until a task is sent or a worker starts."""
    app = Celery(name, broker=settings.redis_url, set_as_current=False)
    app.conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,  # results go to the journal, not Celery's backend
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_time_limit=settings.task_time_limit_s,
        task_soft_time_limit=max(1, settings.task_time_limit_s - 5),
        broker_transport_options={
            "visibility_timeout": settings.visibility_timeout_s,
            "unacked_restore_interval": 1,
            "unacked_restore_throttle": 1,
            # The restore runs under a Redis lock; a worker killed while holding it would stall every restore
            # for kombu's default 300 s. The journal makes a message restored twice harmless.
            "unacked_mutex_expire": 10,
        },
        broker_connection_retry_on_startup=True,
        task_queues=[KombuQueue(Queue.TOOLS.value), KombuQueue(Queue.INFERENCE.value)],
        task_routes={Task.RUN_TOOL.value: {"queue": Queue.TOOLS.value},
                     Task.RUN_INFERENCE.value: {"queue": Queue.INFERENCE.value}},
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
    )
    return app
