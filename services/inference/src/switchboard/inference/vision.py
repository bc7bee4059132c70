"""The `vision` model role: what an image shows, as ImageNet labels from a classifier on Ray Serve or as a
caption from a chat model that reads images.

`VisionRecognizer` runs vision steps: it reads the image blob (`sb:blob:<sha256>`) from Redis and checks it
(`vision_input`: a PNG, JPEG or WebP file within the size limits that decodes), then asks its backend:

- `efficientnet`: the vision deployment (`ModelHost.classify`) gets the decoded pixels (see
  `deployments.pixels`) and gives the top labels;
- `vlm`: a hosted chat model with the capability `vision_input` gets the file and writes a caption
  (`vision_chat`).

Either way the step returns a `VisionResult`, whose `describe()` is what a chat model reads. A missing or
expired blob is `ImageNotFound`, anything that is not a readable image `InvalidImage` (both
`inference_failed`, not retryable), and neither reaches a model; a backend that does not answer in time is
`ModelUnavailable`. One GenAI span (`classify_image <model>` or `describe_image <model>`) covers the step: it
carries the image's type, byte size and pixel size, never its content, and the labels or caption only when
content tracing is on.
"""

from __future__ import annotations

import time
from typing import Any, Protocol

import numpy as np
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind

from switchboard.core.blobs import SyncBlobStore
from switchboard.core.errors import ConfigError
from switchboard.core.metrics import Metrics
from switchboard.core.redis_client import connect_sync
from switchboard.core.tracing import inject_context
from switchboard.core.tracing import tracer as switchboard_tracer
from switchboard.core.wire import InferenceRequest, StepRequest, VisionLabel, VisionRequest, VisionResult
from switchboard.inference.catalog import VISION_INPUT, VLM_PREFIX
from switchboard.inference.chat_models import ChatModels
from switchboard.inference.settings import InferenceSettings
from switchboard.inference.vision_chat import ChatVision
from switchboard.inference.vision_input import CheckedImage, ImageReader

MODEL_HOP = "vision_model"  # hop label of the model call's latency


class Classifier(Protocol):
    """What the `efficientnet` backend needs from the vision deployment (`ModelHost` has it)."""

    def classify(self, pixels: np.ndarray, top_k: int, *, traceparent: str | None = None,
                 timeout_s: float | None = None) -> list[tuple[str, float]]: ...


class VisionModel(Protocol):
    """A vision backend: what it does (the span's operation) to which model, and the doing."""

    operation: str

    @property
    def model(self) -> str: ...

    def span_attributes(self) -> dict[str, Any]: ...

    def look(self, image: CheckedImage, request: VisionRequest, span: Span) -> VisionResult: ...


class ClassifierVision:
    """The `efficientnet` backend: the top ImageNet labels of the decoded pixels."""

    operation = "classify_image"

    def __init__(self, classifier: Classifier, model: str, timeout_s: float) -> None:
        self._classifier = classifier
        self._model = model
        self._timeout_s = timeout_s

    @property
    def model(self) -> str:
        return self._model

    def span_attributes(self) -> dict[str, Any]:
        return {}

    def look(self, image: CheckedImage, request: VisionRequest, span: Span) -> VisionResult:
        span.set_attribute("switchboard.vision.top_k", request.top_k)
        pairs = self._classifier.classify(image.pixels, request.top_k,
                                          traceparent=inject_context().get("traceparent"), timeout_s=self._timeout_s)
        # float32 softmax can round a hair past 1; the wire model allows 0..1.
        labels = tuple(VisionLabel(label=label, score=min(max(score, 0.0), 1.0)) for label, score in pairs)
        span.set_attribute("switchboard.vision.labels", len(labels))
        return VisionResult(labels=labels, model=self._model)


class VisionRecognizer:
    """Runs vision steps: the checked image, the backend's call under a span, `VisionResult`."""

    def __init__(self, model: VisionModel, images: ImageReader, metrics: Metrics, *, trace_content: bool,
                 tracer: trace.Tracer | None = None) -> None:
        self._model = model
        self._images = images
        self._metrics = metrics
        self._trace_content = trace_content
        self._tracer = tracer or switchboard_tracer()

    def recognize(self, step: StepRequest) -> VisionResult:
        request = step.payload
        if not isinstance(request, VisionRequest):
            raise TypeError(f"{step.task_id}: the vision recognizer got a {request.kind}")
        operation, model = self._model.operation, self._model.model
        with self._tracer.start_as_current_span(f"{operation} {model}", kind=SpanKind.CLIENT, attributes={
            "gen_ai.operation.name": operation, "gen_ai.request.model": model,
            "switchboard.activation_id": step.activation_id, **self._model.span_attributes(),
        }) as span:
            image = self._images.read(request.image)
            span.set_attributes({"switchboard.image.content_type": image.info.content_type,
                                 "switchboard.image.bytes": len(image.data),
                                 "switchboard.image.size": f"{image.info.width}x{image.info.height}"})
            started = time.perf_counter()
            result = self._model.look(image, request, span)
            self._metrics.hop_duration.labels(hop=MODEL_HOP).observe(time.perf_counter() - started)
            span.set_attribute("gen_ai.response.model", result.model)
            if self._trace_content:  # labels or a caption say what the picture shows: user content
                span.set_attribute("gen_ai.completion", result.describe())
        return result


def build_vision_recognizer(settings: InferenceSettings, classifier: Classifier | None, metrics: Metrics,
                            tracer: trace.Tracer | None = None, *,
                            chat: ChatModels | None = None) -> VisionRecognizer | None:
    """The vision role as configured; None (vision requests refused with `RoleNotConfigured`) when off.

    `classifier` is the started `ModelHost` holding the vision deployment (`efficientnet`); `chat` the chat
    models, whose catalog and drivers `vlm` describes with. Raises `ValueError` when the backend's
    dependency is not given (a start-up bug, not a configuration), and `NoQualifiedModel` when no chat
    model can read images (`vlm`).
    """
    model = _vision_model(settings, classifier, metrics, chat)
    if model is None:
        return None
    blobs = SyncBlobStore(connect_sync(settings, decode_responses=False), settings.image_retention_s)
    images = ImageReader(blobs, max_bytes=settings.vision_max_image_bytes, max_pixels=settings.vision_max_pixels)
    return VisionRecognizer(model, images, metrics, trace_content=settings.trace_content, tracer=tracer)


def _vision_model(settings: InferenceSettings, classifier: Classifier | None, metrics: Metrics,
                  chat: ChatModels | None) -> VisionModel | None:
    if settings.vision_backend == "vlm":
        if chat is None:
            raise ValueError("the vision role is configured (vlm) but no chat models were given")
        # The same resolution the catalog made for its vision entry, so the model called is the one admitted.
        entry, backend = chat.pick(InferenceRequest(messages=(), model=settings.vision_model, requires=VISION_INPUT))
        admitted = chat.catalog.resolve("vision", "vision")
        if (admitted.name, admitted.lane) != (VLM_PREFIX + entry.name, entry.lane):
            raise ConfigError(f"vision requests resolve to {admitted.name!r} ({admitted.lane}), not to the chat "
                              f"model {entry.name!r} that describes images ({entry.lane})")
        return ChatVision(backend, entry, metrics, prompt=settings.vision_prompt,
                          max_tokens=settings.vision_max_tokens, max_edge=settings.vision_max_edge,
                          max_upload_bytes=settings.vision_max_upload_bytes)
    role = settings.vision_role()
    if role is None:
        return None
    if classifier is None:
        raise ValueError("the vision role is configured but its deployment was not started")
    return ClassifierVision(classifier, role.model_name, settings.vision_timeout_s)
