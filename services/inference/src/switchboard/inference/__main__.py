"""`python -m switchboard.inference`: start the model roles (chat on a hosted API or Ray Serve, vision on Ray
Serve; a Ray cluster is started or joined here when either needs one), add the image role, run the bridge."""

from __future__ import annotations

import logging
from collections.abc import Callable

from switchboard.core.celery_app import make_celery
from switchboard.core.errors import SwitchboardError
from switchboard.core.journal import SyncJournal
from switchboard.core.keys import Queue
from switchboard.core.lanes import CHAT_ROLE, LaneRecorder
from switchboard.core.logs import setup_logging
from switchboard.core.metrics import Metrics
from switchboard.core.redis_client import connect_sync
from switchboard.core.tracing import setup_tracing
from switchboard.core.workers import instrument_celery, run_worker
from switchboard.inference.bridge import ChatModel, InferenceBridge, register_inference_task
from switchboard.inference.deployments.host import ModelHost
from switchboard.inference.providers import build_chat_driver, build_image_generator
from switchboard.inference.settings import InferenceSettings
from switchboard.inference.vision import build_vision_recognizer


def main() -> None:
    settings = InferenceSettings()
    setup_logging("inference", settings.log_level)
    provider = setup_tracing("switchboard-inference")
    instrument_celery()
    chat, model_name, host, stop_models = _start_models(settings)
    try:
        metrics = Metrics()
        metrics.serve(settings.metrics_host, settings.metrics_port)
        client = connect_sync(settings)
        app = make_celery(settings, "switchboard-inference")
        lane = LaneRecorder(client, CHAT_ROLE, settings.chat_lane())
        lane.publish()
        bridge = InferenceBridge(chat, model_name, client, metrics, settings.live_interval_s,
                                 settings.trace_content, images=build_image_generator(settings, metrics),
                                 vision=build_vision_recognizer(settings, host, metrics), lane=lane)
        register_inference_task(app, bridge, SyncJournal(client), metrics)
        run_worker(app, Queue.INFERENCE.value, settings.bridge_concurrency, "inference", settings.log_level)
    finally:
        stop_models()
        if provider is not None:
            provider.shutdown()


def _start_models(settings: InferenceSettings) -> tuple[ChatModel, str, ModelHost | None, Callable[[], None]]:
    """The chat model, its name, the Ray host (None when no role runs on Ray) and how to stop them all.

    Chat is a hosted API driver or a Ray Serve deployment; vision, when configured, is always a Ray Serve
    deployment, so a hosted chat API with vision on still starts (or joins) Ray, for vision alone.
    """
    driver = build_chat_driver(settings)
    chat_role = settings.chat_role() if driver is None else None
    vision_role = settings.vision_role()
    host = ModelHost(settings.ray(), chat_role, vision_role) if chat_role or vision_role else None
    if host is not None:
        try:
            host.start()  # fails fast when the cluster lacks what a role asks for
        except SwitchboardError as exc:
            logging.getLogger("switchboard.inference").error("cannot start the model roles: %s", exc)
            if driver is not None:
                driver.close()
            raise SystemExit(2) from None

    def stop() -> None:
        if driver is not None:
            driver.close()
        if host is not None:
            host.shutdown()

    if driver is not None:
        return driver, settings.chat_model_name, host, stop
    assert host is not None and chat_role is not None  # no driver: the chat role is on the host
    return host, chat_role.model_name, host, stop

if __name__ == "__main__":
    main()
