"""The vision role through a real Celery inference worker on a real Redis, against EfficientNet-Lite0 on a
real local Ray cluster and Serve. No mocks: images are real photographs stored as blobs the way the gateway
stores attachments, and steps are sent and journaled the way the planner does it.

One Ray cluster for the module: the module-scoped host starts it with the vision role alone (as a
deployment with a hosted chat API runs it); other hosts join it with their own application names.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
import redis
from celery import Celery
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from ray import serve

from switchboard.core.blobs import SyncBlobStore
from switchboard.core.metrics import Metrics
from switchboard.core.wire import AttachmentRef, InferenceRequest, VisionRequest, VisionResult
from switchboard.inference.__main__ import _start_host
from switchboard.inference.bridge import InferenceBridge
from switchboard.inference.chat_models import build_chat_models
from switchboard.inference.deployments.config import RayConfig, VisionRoleConfig
from switchboard.inference.deployments.errors import ModelLoadError, PlacementError
from switchboard.inference.deployments.host import ModelHost
from switchboard.inference.deployments.pixels import decode_image
from switchboard.inference.settings import InferenceSettings
from switchboard.inference.vision import build_vision_recognizer
from tests.conftest import wait_until
from tests.support.echo_chat import EchoChat
from tests.support.ray_hosts import started
from tests.support.steps import run_step, start_inference_worker

IMAGES = Path(__file__).parents[1] / "fixtures" / "images"
CATS = {"tabby", "tiger cat", "Egyptian cat", "Persian cat", "Siamese cat", "lynx"}
MODEL = "efficientnet-lite0"
SMALL_CPU = 0.25  # joining hosts ask for little, so they fit beside the module's vision replica


@pytest.fixture(scope="module")
def vision_host() -> Iterator[ModelHost]:
    host = ModelHost(RayConfig(), vision=VisionRoleConfig(), app_prefix="test-", start_timeout_s=90)
    with started(host):
        yield host


@pytest.fixture
def inference(redis_url: str, vision_host: ModelHost, spans: tuple[TracerProvider, InMemorySpanExporter]
              ) -> Iterator[Callable[..., Celery]]:
    """Start a real inference worker whose vision role is built from `InferenceSettings(**overrides)`,
    as `python -m switchboard.inference` builds it, on the module's vision deployment."""
    with ExitStack() as stack:
        def start(**overrides: Any) -> Celery:
            settings = InferenceSettings(**{"redis_url": redis_url, "chat_backend": "echo",
                                            "vision_backend": "efficientnet", **overrides})
            metrics = Metrics()
            client = redis.Redis.from_url(redis_url, decode_responses=True)
            vision = build_vision_recognizer(settings, vision_host, metrics, tracer=spans[0].get_tracer("test"))
            bridge = InferenceBridge(build_chat_models(settings, EchoChat()), client, metrics,
                                     settings.live_interval_s, settings.trace_content, vision=vision)
            return start_inference_worker(stack, settings, bridge, client, metrics, "test-inference")

        yield start


def store(redis_url: str, data: bytes, filename: str = "photo.png") -> AttachmentRef:
    """Store `data` as a blob the way the gateway stores an attachment, and return its reference."""
    digest = SyncBlobStore(redis.Redis.from_url(redis_url), retention_s=600).put(data)
    return AttachmentRef(filename=filename, content_type="image/png", size=len(data), sha256=digest, media="image")


def vision_spans(exporter: InMemorySpanExporter) -> list[ReadableSpan]:
    return [span for span in exporter.get_finished_spans() if span.name.startswith("classify_image")]


def photo(name: str) -> bytes:
    return (IMAGES / name).read_bytes()


def test_a_stored_photo_of_a_cat_is_labelled_a_cat(
        inference: Callable[..., Celery], redis_url: str, spans: tuple[TracerProvider, InMemorySpanExporter]) -> None:
    app = inference()
    image = store(redis_url, photo("chelsea.png"))

    result = run_step(app, redis_url, step="vision:0", payload=VisionRequest(image=image, top_k=3))

    assert result.error is None, result.error
    output = result.output
    assert isinstance(output, VisionResult) and output.model == MODEL and output.caption is None
    assert len(output.labels) == 3 and {label.label for label in output.labels} <= CATS, output.labels
    assert [label.score for label in output.labels] == sorted((label.score for label in output.labels), reverse=True)
    assert "cat" in output.describe()
    [span] = vision_spans(spans[1])
    assert (span.name, span.kind) == (f"classify_image {MODEL}", SpanKind.CLIENT)
    assert span.attributes["gen_ai.operation.name"] == "classify_image"
    assert span.attributes["switchboard.activation_id"] == result.activation_id
    assert span.attributes["switchboard.image.size"] == "451x300" and span.attributes["switchboard.vision.top_k"] == 3
    assert span.attributes["switchboard.vision.labels"] == 3
    assert "gen_ai.completion" not in span.attributes  # content tracing is off: not even the labels
    assert not any("cat" in str(value) for value in span.attributes.values())
    samples = app.metrics.registry.get_sample_value  # type: ignore[attr-defined]
    assert samples("switchboard_hop_duration_seconds_count", {"hop": "vision_model"}) == 1


def test_top_k_and_content_tracing(
        inference: Callable[..., Celery], redis_url: str, spans: tuple[TracerProvider, InMemorySpanExporter]) -> None:
    app = inference(trace_content=True)
    image = store(redis_url, photo("coffee.png"))

    result = run_step(app, redis_url, step="vision:0", payload=VisionRequest(image=image, top_k=5))

    assert isinstance(result.output, VisionResult), result.error
    assert len(result.output.labels) == 5 and result.output.labels[0].label == "espresso"
    [span] = vision_spans(spans[1])
    assert span.attributes["gen_ai.completion"] == result.output.describe()
    assert image.sha256 not in repr(dict(span.attributes))  # never the image itself, nor its address


def test_backend_none_refuses_with_role_not_configured(inference: Callable[..., Celery], redis_url: str) -> None:
    app = inference(vision_backend="none")

    result = run_step(app, redis_url, step="vision:0",
                      payload=VisionRequest(image=store(redis_url, photo("chelsea.png"))))

    assert result.output is None and result.error is not None
    assert (result.error.code, result.error.retryable) == ("role_not_configured", False)
    assert "vision role" in result.error.message


@pytest.mark.parametrize(("data", "says"), [
    (b"just some text, not a picture", "not a PNG, JPEG or WebP file"),
    (photo("chelsea.png")[:5000], "not a readable PNG, JPEG or WebP image"),  # a good header, truncated pixels
])
def test_a_blob_that_is_not_a_readable_image_is_inference_failed(
        inference: Callable[..., Celery], redis_url: str, data: bytes, says: str) -> None:
    app = inference()

    result = run_step(app, redis_url, step="vision:0", payload=VisionRequest(image=store(redis_url, data, "notes.png")))

    assert result.error is not None and (result.error.code, result.error.retryable) == ("inference_failed", False)
    assert says in result.error.message and "Traceback" not in result.error.message


def test_an_image_over_the_limits_is_refused(inference: Callable[..., Celery], redis_url: str) -> None:
    app = inference(vision_max_pixels=100_000)

    result = run_step(app, redis_url, step="vision:0",
                      payload=VisionRequest(image=store(redis_url, photo("chelsea.png"))))

    assert result.error is not None and result.error.code == "inference_failed"
    assert "451x300 is over the 100000 pixel limit" in result.error.message


def test_an_expired_blob_is_inference_failed(inference: Callable[..., Celery], redis_url: str) -> None:
    app = inference()
    data = photo("coffee.png")
    gone = AttachmentRef(filename="coffee.png", content_type="image/png", size=len(data),
                         sha256=hashlib.sha256(data).hexdigest(), media="image")  # never stored

    result = run_step(app, redis_url, step="vision:0", payload=VisionRequest(image=gone))

    assert result.error is not None and (result.error.code, result.error.retryable) == ("inference_failed", False)
    assert "no longer stored" in result.error.message


def test_a_gpu_the_cluster_lacks_fails_at_start_naming_the_role(vision_host: ModelHost) -> None:
    host = ModelHost(RayConfig(), vision=VisionRoleConfig(num_gpus=1), app_prefix="test-gpu-")

    with pytest.raises(PlacementError, match="vision role asks for 1 GPU but the Ray cluster has 0 GPU"):
        host.start()
    assert "test-gpu-vision" not in serve.status().applications


def test_missing_weights_fail_at_start_naming_the_file(vision_host: ModelHost) -> None:
    config = VisionRoleConfig(model_path=Path("/nowhere/lite0.pth"), num_cpus=SMALL_CPU)
    host = ModelHost(RayConfig(), vision=config, app_prefix="test-nofile-")

    with pytest.raises(ModelLoadError, match=r"cannot load vision model from /nowhere/lite0\.pth"):
        host.start()


def test_a_hosted_chat_api_with_vision_runs_vision_alone_on_ray(vision_host: ModelHost, redis_url: str) -> None:
    settings = InferenceSettings(redis_url=redis_url, chat_backend="openai", vision_backend="efficientnet",
                                 vision_num_cpus=SMALL_CPU)

    host = _start_host(settings)
    chat = build_chat_models(settings, host)
    try:
        assert host is not None and set(host.roles) == {"vision"}
        entry, _ = chat.pick(InferenceRequest(messages=()))
        assert (entry.name, entry.lane) == (settings.chat_model_name, "cloud:openai")
        applications = serve.status().applications
        assert "vision" in applications and "chat" not in applications
        [(label, _)] = host.classify(decode_image(photo("chelsea.png"), settings.vision_max_pixels), 1, timeout_s=10)
        assert label in CATS
    finally:
        chat.close()
        host.shutdown()
    wait_until(lambda: "vision" not in serve.status().applications, 30, "the vision app to be deleted")
