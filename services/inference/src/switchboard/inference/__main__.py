"""`python -m switchboard.inference`: start the chat role (a hosted API, or Ray Serve started or joined here),
add the image role, run the bridge."""

from __future__ import annotations

import logging
from collections.abc import Callable

from switchboard.core.celery_app import make_celery
from switchboard.core.errors import SwitchboardError
from switchboard.core.journal import SyncJournal
from switchboard.core.keys import Queue
from switchboard.core.logs import setup_logging
from switchboard.core.metrics import Metrics
from switchboard.core.redis_client import connect_sync
from switchboard.core.tracing import setup_tracing
from switchboard.core.workers import instrument_celery, run_worker
from switchboard.inference.bridge import ChatModel, InferenceBridge, register_inference_task
from switchboard.inference.deployments.host import ModelHost
from switchboard.inference.providers import build_chat_driver, build_image_generator
from switchboard.inference.settings import InferenceSettings


def main() -> None:
    settings = InferenceSettings()
    setup_logging("inference", settings.log_level)
    provider = setup_tracing("switchboard-inference")
    instrument_celery()
    chat, model_name, stop_chat = _start_chat(settings)
    try:
        metrics = Metrics()
        metrics.serve(settings.metrics_host, settings.metrics_port)
        client = connect_sync(settings)
        app = make_celery(settings, "switchboard-inference")
        bridge = InferenceBridge(chat, model_name, client, metrics, settings.live_interval_s,
                                 settings.trace_content, images=build_image_generator(settings, metrics))
        register_inference_task(app, bridge, SyncJournal(client), metrics)
        run_worker(app, Queue.INFERENCE.value, settings.bridge_concurrency, "inference", settings.log_level)
    finally:
        stop_chat()
        if provider is not None:
            provider.shutdown()


def _start_chat(settings: InferenceSettings) -> tuple[ChatModel, str, Callable[[], None]]:
    """The chat role, its model name and how to stop it: a hosted API driver, or Ray Serve started here."""
    driver = build_chat_driver(settings)
    if driver is not None:
        return driver, settings.chat_model_name, driver.close
    chat = settings.chat_role()
    host = ModelHost(settings.ray(), chat)
    try:
        host.start()  # fails fast when the cluster lacks what the chat role asks for
    except SwitchboardError as exc:
        logging.getLogger("switchboard.inference").error("cannot start the chat role: %s", exc)
        raise SystemExit(2) from None
    return host, chat.model_name, host.shutdown

if __name__ == "__main__":
    main()
