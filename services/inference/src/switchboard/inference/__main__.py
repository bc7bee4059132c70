"""`python -m switchboard.inference`: start the model roles (chat on Ray Serve or a hosted API, vision and
embed on Ray Serve, image on Ray Serve or a hosted API; a Ray cluster is started or joined here when a role
needs one), the hosted drivers of the model catalog, then run the bridge."""

from __future__ import annotations

import logging
from contextlib import ExitStack

import redis

from switchboard.core.celery_app import make_celery
from switchboard.core.errors import SwitchboardError
from switchboard.core.journal import SyncJournal
from switchboard.core.keys import Queue
from switchboard.core.lanes import CHAT_ROLE, LaneRecorder
from switchboard.core.leases import LaneSlots
from switchboard.core.logs import setup_logging
from switchboard.core.metrics import Metrics
from switchboard.core.redis_client import connect_sync
from switchboard.core.tracing import setup_tracing
from switchboard.core.workers import instrument_celery, run_worker
from switchboard.inference.admission import Admission, LiveCapacity
from switchboard.inference.bridge import InferenceBridge, register_inference_task
from switchboard.inference.chat_models import build_chat_models, cloud_capacities
from switchboard.inference.deployments.host import ModelHost
from switchboard.inference.embeddings import build_embedder
from switchboard.inference.providers import build_image_generator
from switchboard.inference.settings import InferenceSettings
from switchboard.inference.vision import build_vision_recognizer

logger = logging.getLogger("switchboard.inference")


def main() -> None:
    settings = InferenceSettings()
    setup_logging("inference", settings.log_level)
    provider = setup_tracing("switchboard-inference")
    instrument_celery()
    with ExitStack() as running:
        host = _start_host(settings)
        if host is not None:
            running.callback(host.shutdown)
        metrics = Metrics()
        try:
            chat = build_chat_models(settings, host)
        except SwitchboardError as exc:  # e.g. a key unset; with vision_backend=vlm, no chat model reads images
            logger.error("cannot start the chat models: %s", exc)
            raise SystemExit(2) from None
        running.callback(chat.close)
        metrics.serve(settings.metrics_host, settings.metrics_port)
        client = connect_sync(settings)
        admission = _admission(settings, host, client, metrics)
        lane = LaneRecorder(client, CHAT_ROLE, settings.chat_lane(), lambda: admission.capacity(chat.default))
        lane.publish()
        bridge = InferenceBridge(
            chat, client, metrics, settings.live_interval_s, settings.trace_content,
            images=build_image_generator(settings, metrics, host),
            vision=build_vision_recognizer(settings, host, metrics, chat=chat),
            embedder=build_embedder(settings, host, metrics), lane=lane, admission=admission)
        app = make_celery(settings, "switchboard-inference")
        journal = SyncJournal(client, settings.record_retention_s, settings.step_max_deliveries,
                              settings.task_time_limit_s)
        register_inference_task(app, bridge, journal, metrics)
        run_worker(app, Queue.INFERENCE.value, settings.bridge_concurrency, "inference", settings.log_level)
    if provider is not None:
        provider.shutdown()


def _start_host(settings: InferenceSettings) -> ModelHost | None:
    """The Ray roles this service runs, started; None when every model is hosted elsewhere.

    Exits with status 2 when the cluster lacks what a role asks for (a GPU on a CPU-only cluster), a model
    file is missing, or a role does not become healthy: a start failure, never a replica left pending.
    """
    chat = settings.chat_role() if settings.chat_backend != "openai" else None
    vision, embed, image = settings.vision_role(), settings.embed_role(), settings.image_role()
    if chat is None and vision is None and embed is None and image is None:
        return None
    host = ModelHost(settings.ray(), chat, vision, embed, image=image)
    try:
        host.start()
    except SwitchboardError as exc:
        logger.error("cannot start the model roles: %s", exc)
        raise SystemExit(2) from None
    return host


def _admission(settings: InferenceSettings, host: ModelHost | None, client: redis.Redis,
               metrics: Metrics) -> Admission:
    roles = host.roles if host is not None else {}
    per_replica = {role: config.max_ongoing_requests for role, config in roles.items()}
    if host is not None:
        for role in roles:
            metrics.replicas.labels(role=role).set_function(lambda role=role: host.replicas().get(role, 0))
    return Admission(LaneSlots(client), metrics,
                     local_capacity=LiveCapacity(host.replicas if host else dict, per_replica),
                     cloud_capacity=cloud_capacities(settings), ttl_s=settings.task_time_limit_s,
                     wait_s=settings.lane_wait_s, queue_limit=settings.lane_queue_limit)


if __name__ == "__main__":
    main()
