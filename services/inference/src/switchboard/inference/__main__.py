"""`python -m switchboard.inference`: start (or join) Ray, deploy the chat role, add the image role, run the bridge."""

from __future__ import annotations

import logging

from switchboard.core.celery_app import make_celery
from switchboard.core.errors import SwitchboardError
from switchboard.core.journal import SyncJournal
from switchboard.core.keys import Queue
from switchboard.core.logs import setup_logging
from switchboard.core.metrics import Metrics
from switchboard.core.redis_client import connect_sync
from switchboard.core.tracing import setup_tracing
from switchboard.core.workers import instrument_celery, run_worker
from switchboard.inference.bridge import InferenceBridge, register_inference_task
from switchboard.inference.deployments.host import ModelHost
from switchboard.inference.providers import build_image_generator
from switchboard.inference.settings import InferenceSettings


def main() -> None:
    settings = InferenceSettings()
    setup_logging("inference", settings.log_level)
    provider = setup_tracing("switchboard-inference")
    instrument_celery()
    chat = settings.chat_role()
    host = ModelHost(settings.ray(), chat)
    try:
        host.start()  # fails fast when the cluster lacks what the chat role asks for
    except SwitchboardError as exc:
        logging.getLogger("switchboard.inference").error("cannot start the chat role: %s", exc)
        raise SystemExit(2) from None
    try:
        metrics = Metrics()
        metrics.serve(settings.metrics_host, settings.metrics_port)
        client = connect_sync(settings)
        app = make_celery(settings, "switchboard-inference")
        bridge = InferenceBridge(host, chat.model_name, client, metrics, settings.live_interval_s,
                                 settings.trace_content, images=build_image_generator(settings, metrics))
        register_inference_task(app, bridge, SyncJournal(client), metrics)
        run_worker(app, Queue.INFERENCE.value, settings.bridge_concurrency, "inference", settings.log_level)
    finally:
        host.shutdown()
        if provider is not None:
            provider.shutdown()


if __name__ == "__main__":
    main()
