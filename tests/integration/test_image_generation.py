"""The image role through a real Celery worker on a real Redis, against a local fake of the OpenAI Images API.

No Ray: the openai backend runs in the bridge's worker thread; chat steps go to the in-process echo engine.
"""

from __future__ import annotations

import hashlib
import logging
import socket
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest
import redis
from celery import Celery
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from switchboard.core.blobs import SyncBlobStore
from switchboard.core.keys import blob
from switchboard.core.metrics import Metrics
from switchboard.core.redis_client import connect_sync
from switchboard.core.wire import (
    ChatMessage,
    ImageRequest,
    ImageResult,
    InferenceRequest,
    InferenceResult,
)
from switchboard.inference.bridge import InferenceBridge
from switchboard.inference.chat_models import build_chat_models
from switchboard.inference.image_headers import read_image_header
from switchboard.inference.images import ImageGenerator
from switchboard.inference.providers import build_image_driver, build_image_generator
from switchboard.inference.settings import InferenceSettings
from tests.support.echo_chat import EchoChat
from tests.support.fake_images_api import FakeImagesApi
from tests.support.steps import run_step, start_inference_worker

API_KEY = "sk-test-0123456789-do-not-leak"
MODEL = "fake-image-1"



@pytest.fixture
def fake_api() -> Iterator[FakeImagesApi]:
    with FakeImagesApi(revised_prompt="a red fox in the snow, watercolour") as api:
        yield api


@pytest.fixture
def inference(redis_url: str, spans: tuple[TracerProvider, InMemorySpanExporter]
              ) -> Iterator[Callable[..., Celery]]:
    """Start a real inference worker whose image role is built from `InferenceSettings(**overrides)`."""
    with ExitStack() as stack:
        def start(**overrides: Any) -> Celery:
            settings = InferenceSettings(redis_url=redis_url, **overrides)
            metrics = Metrics()
            client = redis.Redis.from_url(redis_url, decode_responses=True)
            bridge = InferenceBridge(build_chat_models(settings, EchoChat()), client, metrics,
                                     settings.live_interval_s, settings.trace_content,
                                     images=image_role(settings, metrics, spans[0]))
            return start_inference_worker(stack, settings, bridge, client, metrics, "test-inference")

        yield start


def image_role(settings: InferenceSettings, metrics: Metrics, provider: TracerProvider) -> ImageGenerator | None:
    """What `build_image_generator` builds, with the test's tracer so its spans can be read."""
    driver = build_image_driver(settings)
    if driver is None:
        assert build_image_generator(settings, metrics) is None
        return None
    blobs = SyncBlobStore(connect_sync(settings, decode_responses=False), settings.image_retention_s)
    return ImageGenerator(driver, blobs, metrics,
                          settings.image_max_bytes, settings.trace_content, tracer=provider.get_tracer("test"))


def openai(fake: FakeImagesApi, **extra: Any) -> dict[str, Any]:
    return {"image_backend": "openai", "image_base_url": fake.url, "image_model": MODEL, "image_api_key": API_KEY,
            **extra}


def image_spans(exporter: InMemorySpanExporter) -> list[ReadableSpan]:
    return [span for span in exporter.get_finished_spans() if span.name.startswith("generate_image")]


def test_images_are_generated_stored_as_blobs_and_journaled(
        inference: Callable[..., Celery], fake_api: FakeImagesApi, redis_url: str,
        spans: tuple[TracerProvider, InMemorySpanExporter]) -> None:
    app = inference(**openai(fake_api))

    result = run_step(app, redis_url, step="image:0",
                      payload=ImageRequest(prompt="a fox", width=128, height=64, count=2, seed=7))

    assert result.error is None, result.error
    output = result.output
    assert isinstance(output, ImageResult)
    assert (output.model, output.revised_prompt) == (MODEL, "a red fox in the snow, watercolour")
    assert [image.filename for image in output.images] == ["image-1.png", "image-2.png"]
    blobs = redis.Redis.from_url(redis_url)  # bytes, not decoded
    for ref, served in zip(output.images, fake_api.served, strict=True):
        stored = blobs.get(blob(ref.sha256))
        assert stored == served
        assert ref.sha256 == hashlib.sha256(stored).hexdigest() and ref.size == len(stored)
        assert (ref.content_type, ref.media, ref.width, ref.height) == ("image/png", "image", 128, 64)
        assert read_image_header(stored).content_type == "image/png"
        assert 0 < blobs.ttl(blob(ref.sha256)) <= 7 * 24 * 3600
    [sent] = fake_api.requests
    assert (sent.method, sent.path) == ("POST", "/v1/images/generations")
    assert sent.headers["authorization"] == f"Bearer {API_KEY}"
    assert sent.body == {"model": MODEL, "prompt": "a fox", "n": 2, "size": "128x64", "response_format": "b64_json"}
    [span] = image_spans(spans[1])
    assert (span.name, span.kind) == (f"generate_image {MODEL}", SpanKind.CLIENT)
    assert span.attributes["gen_ai.request.model"] == MODEL
    assert span.attributes["gen_ai.operation.name"] == "generate_image"
    assert span.attributes["switchboard.activation_id"] == result.activation_id
    assert span.attributes["switchboard.image.count"] == 2
    assert "gen_ai.prompt" not in span.attributes  # content tracing is off
    samples = app.metrics.registry.get_sample_value  # type: ignore[attr-defined]
    assert samples("switchboard_hop_duration_seconds_count", {"hop": "image_provider"}) == 1


def test_backend_none_refuses_with_role_not_configured(
        inference: Callable[..., Celery], fake_api: FakeImagesApi, redis_url: str) -> None:
    app = inference(image_backend="none", image_base_url=fake_api.url)

    result = run_step(app, redis_url, step="image:0", payload=ImageRequest(prompt="a fox"))

    assert result.output is None and result.error is not None
    assert (result.error.code, result.error.retryable) == ("role_not_configured", False)
    assert "image role" in result.error.message
    assert fake_api.requests == []


@pytest.mark.parametrize("status", [429, 500, 503])
def test_a_busy_or_failing_provider_is_model_unavailable(
        inference: Callable[..., Celery], fake_api: FakeImagesApi, redis_url: str, status: int) -> None:
    app = inference(**openai(fake_api))
    fake_api.fail_next(status, {"error": {"message": "the servers are on fire"}})

    result = run_step(app, redis_url, step="image:0", payload=ImageRequest(prompt="a fox"))

    assert result.error is not None
    assert (result.error.code, result.error.retryable) == ("model_unavailable", True)
    assert str(status) in result.error.message and "on fire" in result.error.message


def test_a_refused_prompt_carries_the_providers_message(
        inference: Callable[..., Celery], fake_api: FakeImagesApi, redis_url: str) -> None:
    app = inference(**openai(fake_api))
    refusal = "Your request was rejected as a result of our safety system."
    fake_api.fail_next(400, {"error": {"message": refusal, "type": "invalid_request_error",
                                       "code": "content_policy_violation"}})

    result = run_step(app, redis_url, step="image:0", payload=ImageRequest(prompt="something not allowed"))

    assert result.error is not None
    assert (result.error.code, result.error.retryable) == ("inference_failed", False)
    assert refusal in result.error.message


@pytest.mark.parametrize(("body", "says"), [
    (b"<html>not json</html>", "no usable image"),
    ({"created": 1, "data": [{"url": "https://example.com/x.png"}]}, "no usable image"),
    ({"created": 1, "data": [{"b64_json": "!!not base64!!"}]}, "no usable image"),
    ({"created": 1, "data": []}, "no image"),
    ({"created": 1, "data": [{"b64_json": "R0lGODlhAQABAAAAACw="}]}, "not a usable image"),  # a GIF
])
def test_a_response_without_valid_image_bytes_is_inference_failed(
        inference: Callable[..., Celery], fake_api: FakeImagesApi, redis_url: str, body: Any, says: str) -> None:
    app = inference(**openai(fake_api))
    fake_api.fail_next(200, body)

    result = run_step(app, redis_url, step="image:0", payload=ImageRequest(prompt="a fox"))

    assert result.error is not None
    assert (result.error.code, result.error.retryable) == ("inference_failed", False)
    assert says in result.error.message


def test_an_image_over_the_size_cap_is_refused_and_not_stored(
        inference: Callable[..., Celery], fake_api: FakeImagesApi, redis_url: str) -> None:
    app = inference(**openai(fake_api, image_max_bytes=1024))

    result = run_step(app, redis_url, step="image:0", payload=ImageRequest(prompt="noise", width=2048, height=2048))

    assert result.error is not None and result.error.code == "inference_failed"
    assert "over the 1024 byte limit" in result.error.message
    assert len(fake_api.served[0]) > 1024
    assert redis.Redis.from_url(redis_url).get(blob(hashlib.sha256(fake_api.served[0]).hexdigest())) is None


def test_a_hung_provider_is_model_unavailable_after_the_timeout(
        inference: Callable[..., Celery], fake_api: FakeImagesApi, redis_url: str) -> None:
    app = inference(**openai(fake_api, image_timeout_s=0.5))
    fake_api.hang_next()

    result = run_step(app, redis_url, step="image:0", payload=ImageRequest(prompt="a fox"))

    assert result.error is not None and (result.error.code, result.error.retryable) == ("model_unavailable", True)
    assert "did not answer within 0.5 s" in result.error.message


def test_an_unreachable_provider_is_model_unavailable(inference: Callable[..., Celery], redis_url: str) -> None:
    with socket.socket() as unused:  # a port that was free a moment ago: nothing listens there
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    app = inference(image_backend="openai", image_base_url=f"http://127.0.0.1:{port}/v1", image_api_key=API_KEY)

    result = run_step(app, redis_url, step="image:0", payload=ImageRequest(prompt="a fox"))

    assert result.error is not None and (result.error.code, result.error.retryable) == ("model_unavailable", True)
    assert "unreachable" in result.error.message


def test_the_api_key_never_reaches_logs_spans_or_the_journal(
        inference: Callable[..., Celery], fake_api: FakeImagesApi, redis_url: str,
        spans: tuple[TracerProvider, InMemorySpanExporter], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    app = inference(**openai(fake_api, trace_content=True))  # even with prompts on spans
    fake_api.fail_next(401, {"error": {"message": f"Incorrect API key provided: {API_KEY}."}})
    fake_api.fail_next(400, {"error": {"message": f"bad request from key {API_KEY}"}})

    results = [run_step(app, redis_url, step="image:0", payload=ImageRequest(prompt="a fox")) for _ in range(3)]

    assert [r.error.code if r.error else "ok" for r in results] == ["inference_failed", "inference_failed", "ok"]
    assert all(API_KEY not in r.to_json() for r in results)
    assert "***" in results[1].error.message  # type: ignore[union-attr]
    assert caplog.records and API_KEY not in caplog.text
    assert all(API_KEY not in str(record.args) for record in caplog.records)
    finished = image_spans(spans[1])
    assert len(finished) == 3 and finished[-1].attributes["gen_ai.prompt"] == "a fox"
    for span in finished:
        assert API_KEY not in repr(dict(span.attributes))
        assert all(API_KEY not in repr(dict(event.attributes)) for event in span.events)
    assert API_KEY not in repr(InferenceSettings(**openai(fake_api)))


def test_chat_requests_still_take_the_chat_path(
        inference: Callable[..., Celery], fake_api: FakeImagesApi, redis_url: str) -> None:
    app = inference(**openai(fake_api))

    result = run_step(app, redis_url, step="infer:0",
                      payload=InferenceRequest(messages=(ChatMessage(role="user", content="hello there"),)))

    assert isinstance(result.output, InferenceResult) and result.output.text == "hello there"
    assert fake_api.requests == []


def test_the_image_timeout_must_end_before_the_task_time_limit() -> None:
    with pytest.raises(ValueError, match="image_timeout_s"):
        InferenceSettings(image_timeout_s=120, task_time_limit_s=120)
