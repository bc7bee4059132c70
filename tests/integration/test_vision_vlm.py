"""The vision role's `vlm` backend: a real Celery inference worker on a real Redis, with the bridge, its lane
admission and `VisionRecognizer` built from settings as `python -m switchboard.inference` builds them, and a
hosted chat model that reads images on a local fake of each provider's API in turn (OpenAI, Anthropic,
Gemini). No Ray: the vision model is a chat model.

Images are real photographs stored as blobs the way the gateway stores attachments; each fake decodes the
image it was sent (refusing bad base64 as its API does), so a test compares its bytes with the stored file.
A catalog with no chat model that reads images fails at start, not per step: `vision_model` is fixed
configuration, and every vision step would fail alike.
"""

from __future__ import annotations

import base64
import io
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis
from celery import Celery
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from PIL import Image
from pydantic import SecretStr

from switchboard.core.blobs import SyncBlobStore
from switchboard.core.errors import InferenceError, NoQualifiedModel
from switchboard.core.metrics import Metrics
from switchboard.core.role_tools import model_view
from switchboard.core.wire import AttachmentRef, VisionRequest, VisionResult
from switchboard.inference.__main__ import _admission
from switchboard.inference.bridge import InferenceBridge
from switchboard.inference.chat_models import DRIVERS, build_chat_models
from switchboard.inference.settings import InferenceSettings
from switchboard.inference.vision import build_vision_recognizer
from tests.support.echo_chat import EchoChat
from tests.support.fake_anthropic_api import FakeAnthropicApi
from tests.support.fake_chat_api import FakeChatApi
from tests.support.fake_gemini_api import FakeGeminiApi
from tests.support.image_inputs import ReceivedImage
from tests.support.steps import run_step, start_inference_worker

IMAGES = Path(__file__).parents[1] / "fixtures" / "images"
API_KEY = "sk-vlm-test-0123456789-do-not-leak"
KEY_ENV = "SWITCHBOARD_TEST_VLM_KEY"
PROVIDER = "eyes-api"  # the provider's name in SWITCHBOARD_PROVIDERS: its lane is cloud:eyes-api
LANE = f"cloud:{PROVIDER}"
MODEL = "eyes"  # the catalog name of the chat model that reads images
CAPTION = "A tabby cat lies on a wooden floor, looking at the camera."
PROMPT = "Say in one sentence what this picture shows."

Fake = FakeChatApi | FakeAnthropicApi | FakeGeminiApi


@dataclass(frozen=True)
class Hosted:
    """A provider under test: its kind, its fake, the model id the catalog sends, the one the fake reports."""

    kind: str
    fake: Fake
    provider_model: str
    reported: str


def _start(kind: str) -> Hosted:
    if kind == "openai":  # a dated version answers for the alias, as OpenAI's API reports it
        return Hosted(kind, FakeChatApi(model="gpt-4o-2024-08-06").start(), "gpt-4o", "gpt-4o-2024-08-06")
    if kind == "anthropic":
        fake: Fake = FakeAnthropicApi(model="claude-eyes-1-20250101", api_key=API_KEY).start()
        return Hosted(kind, fake, "claude-eyes-1", "claude-eyes-1-20250101")
    return Hosted(kind, FakeGeminiApi(api_key=API_KEY).start(), "gemini-eyes-1", "gemini-eyes-1")


@pytest.fixture(params=["openai", "anthropic", "gemini"])
def hosted(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Hosted]:
    """Each provider's fake in turn."""
    monkeypatch.setenv(KEY_ENV, API_KEY)
    running = _start(request.param)
    yield running
    running.fake.stop()


@pytest.fixture
def openai_hosted(monkeypatch: pytest.MonkeyPatch) -> Iterator[Hosted]:
    """The OpenAI-compatible fake alone (what a vLLM server speaks), for tests that need one provider."""
    monkeypatch.setenv(KEY_ENV, API_KEY)
    running = _start("openai")
    yield running
    running.fake.stop()


def vlm_settings(redis_url: str, hosted: Hosted, **overrides: Any) -> InferenceSettings:
    """A local echo chat model (it cannot read images) beside the hosted model that can."""
    return InferenceSettings(**{
        "redis_url": redis_url, "chat_backend": "echo", "vision_backend": "vlm", "vision_prompt": PROMPT,
        "providers": {PROVIDER: {"kind": hosted.kind, "base_url": hosted.fake.url, "api_key_env": KEY_ENV,
                                 "capacity": 2}},
        "models": [{"name": MODEL, "provider": PROVIDER, "model": hosted.provider_model,
                    "capabilities": ["stream", "vision_input"]}],
        **overrides})


@pytest.fixture
def inference(redis_url: str, spans: tuple[TracerProvider, InMemorySpanExporter]) -> Iterator[Callable[..., Celery]]:
    """Start a real inference worker for `vlm_settings(hosted, **overrides)`, built as the service builds it:
    the chat models, the vision recognizer on them, and lane admission from the settings."""
    with ExitStack() as stack:
        def start(hosted: Hosted, **overrides: Any) -> Celery:
            settings = vlm_settings(redis_url, hosted, **overrides)
            metrics = Metrics()
            client = redis.Redis.from_url(redis_url, decode_responses=True)
            chat = build_chat_models(settings, EchoChat())
            stack.callback(chat.close)
            vision = build_vision_recognizer(settings, None, metrics, tracer=spans[0].get_tracer("test"), chat=chat)
            bridge = InferenceBridge(chat, client, metrics, settings.live_interval_s, settings.trace_content,
                                     vision=vision, admission=_admission(settings, None, client, metrics))
            return start_inference_worker(stack, settings, bridge, client, metrics, "test-inference-vlm")

        yield start


def photo(name: str) -> bytes:
    return (IMAGES / name).read_bytes()


def store(redis_url: str, data: bytes, filename: str = "photo.png") -> AttachmentRef:
    """Store `data` as a blob the way the gateway stores an attachment, and return its reference."""
    digest = SyncBlobStore(redis.Redis.from_url(redis_url), retention_s=600).put(data)
    return AttachmentRef(filename=filename, content_type="image/png", size=len(data), sha256=digest, media="image")


def vision_spans(exporter: InMemorySpanExporter) -> list[ReadableSpan]:
    return [span for span in exporter.get_finished_spans() if span.name.startswith("describe_image")]


def test_a_stored_photo_is_described_by_the_hosted_model_that_reads_images(
        inference: Callable[..., Celery], hosted: Hosted, redis_url: str,
        spans: tuple[TracerProvider, InMemorySpanExporter]) -> None:
    app = inference(hosted)
    hosted.fake.script(text=CAPTION)
    image = store(redis_url, photo("chelsea.png"))

    result = run_step(app, redis_url, step="vision:0", payload=VisionRequest(image=image))

    assert result.error is None, result.error
    output = result.output
    assert output == VisionResult(caption=CAPTION, model=hosted.reported)  # no labels: a caption
    assert output.describe() == CAPTION
    assert model_view(output) == ({"shows": CAPTION, "model": hosted.reported}, ())  # what a chat model reads
    # The provider got the stored file itself, in its own type, with the operator's instruction.
    assert hosted.fake.images == [ReceivedImage("image/png", photo("chelsea.png"))]
    assert hosted.fake.images[0].sha256 == image.sha256
    [sent] = hosted.fake.requests
    assert PROMPT in str(sent.body) and API_KEY not in str(sent.body)
    [span] = vision_spans(spans[1])
    assert (span.name, span.kind) == (f"describe_image {hosted.provider_model}", SpanKind.CLIENT)
    attributes = dict(span.attributes or {})
    assert attributes["gen_ai.operation.name"] == "describe_image"
    assert (attributes["gen_ai.provider.name"], attributes["switchboard.lane"]) == (PROVIDER, LANE)
    assert (attributes["switchboard.model"], attributes["gen_ai.response.model"]) == (MODEL, hosted.reported)
    assert attributes["switchboard.image.size"] == "451x300" and attributes["switchboard.activation_id"]
    assert "gen_ai.completion" not in attributes and not any("cat" in str(value) for value in attributes.values())
    samples = app.metrics.registry.get_sample_value  # type: ignore[attr-defined]
    # Admitted to the lane of the model actually called: the provider's, which its chat calls share.
    assert samples("switchboard_lane_queue_wait_seconds_count", {"lane": LANE}) == 1
    assert samples("switchboard_hop_duration_seconds_count", {"hop": "vision_model"}) == 1
    assert samples("switchboard_inference_tokens_total", {"model": hosted.reported, "direction": "output"}) == 12


def test_a_photo_bigger_than_the_model_can_use_is_sent_as_a_smaller_copy(
        inference: Callable[..., Celery], hosted: Hosted, redis_url: str,
        spans: tuple[TracerProvider, InMemorySpanExporter]) -> None:
    app = inference(hosted, vision_max_edge=300)
    hosted.fake.script(text=CAPTION)
    image = store(redis_url, photo("chelsea.png"))

    result = run_step(app, redis_url, step="vision:0", payload=VisionRequest(image=image))

    assert result.error is None, result.error
    [received] = hosted.fake.images
    with Image.open(io.BytesIO(received.data)) as sent:
        assert (received.media_type, sent.format, sent.size) == ("image/png", "PNG", (300, 200))  # 451x300, scaled
    [span] = vision_spans(spans[1])
    attributes = dict(span.attributes or {})
    assert attributes["switchboard.image.resized"] is True and attributes["switchboard.image.sent_size"] == "300x200"


def test_content_tracing_puts_the_caption_on_the_span_and_vision_model_pins_a_model(
        inference: Callable[..., Celery], openai_hosted: Hosted, redis_url: str,
        spans: tuple[TracerProvider, InMemorySpanExporter]) -> None:
    app = inference(openai_hosted, trace_content=True, vision_model=MODEL, vision_max_tokens=40)
    openai_hosted.fake.script(text=f"  {CAPTION}\n")
    image = store(redis_url, photo("coffee.png"))

    result = run_step(app, redis_url, step="vision:0", payload=VisionRequest(image=image))

    assert isinstance(result.output, VisionResult) and result.output.caption == CAPTION  # trimmed
    [sent] = openai_hosted.fake.requests
    assert (sent.body["model"], sent.body["max_tokens"], sent.body["temperature"]) == ("gpt-4o", 40, 0.0)
    [span] = vision_spans(spans[1])
    assert span.attributes is not None and span.attributes["gen_ai.completion"] == CAPTION
    assert image.sha256 not in repr(dict(span.attributes))  # never the image, nor its address


@pytest.mark.parametrize(("overrides", "data", "says"), [
    ({"vision_max_image_bytes": 100_000}, photo("chelsea.png"), "bytes, over the 100000 byte limit"),
    ({"vision_max_pixels": 100_000}, photo("chelsea.png"), "451x300 is over the 100000 pixel limit"),
    ({}, photo("chelsea.png")[:5000], "not a readable PNG, JPEG or WebP image"),  # a good header, no pixels
    ({}, b"just some text, not a picture", "not a PNG, JPEG or WebP file"),
])
def test_an_image_over_the_limits_or_unreadable_is_invalid_before_any_provider_call(
        inference: Callable[..., Celery], hosted: Hosted, redis_url: str, overrides: dict[str, Any], data: bytes,
        says: str) -> None:
    app = inference(hosted, **overrides)

    result = run_step(app, redis_url, step="vision:0", payload=VisionRequest(image=store(redis_url, data)))

    assert result.error is not None and (result.error.code, result.error.retryable) == ("inference_failed", False)
    assert says in result.error.message
    assert hosted.fake.requests == [] and hosted.fake.images == []


def test_a_vision_request_naming_a_chat_model_is_no_qualified_model(
        inference: Callable[..., Celery], openai_hosted: Hosted, redis_url: str) -> None:
    app = inference(openai_hosted)

    result = run_step(app, redis_url, step="vision:0",
                      payload=VisionRequest(model=MODEL, image=store(redis_url, photo("chelsea.png"))))

    assert result.error is not None and result.error.code == "no_qualified_model"
    assert "eyes is a chat model" in result.error.message and openai_hosted.fake.requests == []


def test_an_answer_without_text_is_inference_failed_and_a_busy_provider_model_unavailable(
        inference: Callable[..., Celery], openai_hosted: Hosted, redis_url: str) -> None:
    app = inference(openai_hosted)
    image = store(redis_url, photo("chelsea.png"))
    openai_hosted.fake.script(text="")
    openai_hosted.fake.fail_next(429, {"error": {"message": "Rate limit reached", "type": "requests"}})

    silent = run_step(app, redis_url, step="vision:0", payload=VisionRequest(image=image))
    busy = run_step(app, redis_url, step="vision:1", payload=VisionRequest(image=image))

    assert silent.error is not None and (silent.error.code, silent.error.retryable) == ("inference_failed", False)
    assert "said nothing about the image" in silent.error.message
    assert busy.error is not None and (busy.error.code, busy.error.retryable) == ("model_unavailable", True)


def test_each_fake_refuses_what_its_api_refuses_bad_base64_or_bytes_that_are_no_image(hosted: Hosted) -> None:
    refusals = [[{"media_type": "image/png", "data": "not base64!"}],
                [{"media_type": "image/png", "data": base64.b64encode(b"plain text, no image").decode()}]]
    if hosted.kind != "openai":  # Anthropic and Gemini also hold the file to the type it is declared as
        refusals.append([{"media_type": "image/jpeg", "data": base64.b64encode(photo("chelsea.png")).decode()}])
    driver = DRIVERS[hosted.kind](hosted.fake.url, hosted.provider_model, SecretStr(API_KEY), 5.0)
    try:
        for images in refusals:
            request = {"messages": [{"role": "user", "content": "What is this?", "images": images}],
                       "max_tokens": 16, "temperature": 0.0}
            with pytest.raises(InferenceError) as refused:
                list(driver.stream_chat(request))
            assert not refused.value.retryable and "400" in refused.value.message, refused.value.message
    finally:
        driver.close()
    assert hosted.fake.images == [] and len(hosted.fake.requests) == len(refusals)


def test_no_chat_model_that_reads_images_fails_the_service_at_start(redis_url: str, monkeypatch: pytest.MonkeyPatch,
                                                                    openai_hosted: Hosted) -> None:
    settings = vlm_settings(redis_url, openai_hosted, models=[
        {"name": MODEL, "provider": PROVIDER, "model": "gpt-4o", "capabilities": ["stream", "tools"]}])
    with pytest.raises(NoQualifiedModel) as refused:
        build_chat_models(settings, EchoChat())
    assert refused.value.code == "no_qualified_model" and "eyes: no vision_input" in refused.value.message

    # The service itself: it logs why and exits with status 2 before serving anything (no Ray: the chat
    # model is hosted, and vlm runs none).
    env = {**os.environ, "SWITCHBOARD_REDIS_URL": redis_url, "SWITCHBOARD_CHAT_BACKEND": "openai",
           "SWITCHBOARD_VISION_BACKEND": "vlm", "SWITCHBOARD_VISION_MODEL": "default",
           "SWITCHBOARD_CHAT_BASE_URL": openai_hosted.fake.url, "OTEL_SDK_DISABLED": "true"}
    started = subprocess.run([sys.executable, "-m", "switchboard.inference"], env=env, capture_output=True,
                             text=True, timeout=120)
    assert started.returncode == 2, started.stderr[-2000:]
    assert "no vision model qualifies for 'default'" in started.stdout + started.stderr
    assert openai_hosted.fake.requests == []
