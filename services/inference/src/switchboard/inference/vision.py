"""The `vision` model role: what an image shows, as ImageNet labels from a classifier on Ray Serve.

`VisionRecognizer` runs vision steps: it reads the image blob (`sb:blob:<sha256>`) from Redis, checks it
is a PNG, JPEG or WebP file within the size limits, decodes it to the classifier's input here (see
`deployments.pixels`), asks the vision deployment (`ModelHost.classify`) for the top labels and returns
a `VisionResult`. A missing or expired blob is `ImageNotFound`, anything that is not a readable image
`InvalidImage` (both `inference_failed`, not retryable); a replica that does not answer in time is
`ModelUnavailable`. One GenAI span (`classify_image <model>`) covers the step: it carries the image's
type, byte size and pixel size, never its content, and the labels only when content tracing is on.
"""

from __future__ import annotations

import time
from typing import Protocol

import numpy as np
from opentelemetry import trace
from opentelemetry.trace import SpanKind

from switchboard.core.blobs import SyncBlobStore
from switchboard.core.metrics import Metrics
from switchboard.core.redis_client import connect_sync
from switchboard.core.tracing import inject_context
from switchboard.core.tracing import tracer as switchboard_tracer
from switchboard.core.wire import AttachmentRef, StepRequest, VisionLabel, VisionRequest, VisionResult
from switchboard.inference.deployments.errors import ImageNotFound, InvalidImage
from switchboard.inference.deployments.pixels import decode_image
from switchboard.inference.image_headers import ImageInfo, NotAnImage, read_image_header
from switchboard.inference.settings import InferenceSettings

MODEL_HOP = "vision_model"  # hop label of the classifier call's latency


class Classifier(Protocol):
    """What the recognizer needs from the vision deployment (`ModelHost` has it)."""

    def classify(self, pixels: np.ndarray, top_k: int, *, traceparent: str | None = None,
                 timeout_s: float | None = None) -> list[tuple[str, float]]: ...


class VisionRecognizer:
    """Runs vision steps: blob read, checks, decoding, the classifier call under a span, `VisionResult`."""

    def __init__(self, classifier: Classifier, blobs: SyncBlobStore, metrics: Metrics, model: str, *,
                 max_bytes: int, max_pixels: int, timeout_s: float, trace_content: bool,
                 tracer: trace.Tracer | None = None) -> None:
        self._classifier = classifier
        self._blobs = blobs
        self._metrics = metrics
        self._model = model
        self._max_bytes = max_bytes
        self._max_pixels = max_pixels
        self._timeout_s = timeout_s
        self._trace_content = trace_content
        self._tracer = tracer or switchboard_tracer()

    def recognize(self, step: StepRequest) -> VisionResult:
        request = step.payload
        if not isinstance(request, VisionRequest):
            raise TypeError(f"{step.task_id}: the vision recognizer got a {request.kind}")
        with self._tracer.start_as_current_span(f"classify_image {self._model}", kind=SpanKind.CLIENT, attributes={
            "gen_ai.operation.name": "classify_image", "gen_ai.request.model": self._model,
            "switchboard.vision.top_k": request.top_k, "switchboard.activation_id": step.activation_id,
        }) as span:
            data = self._read(request.image)
            info = self._check(data)
            span.set_attributes({"switchboard.image.content_type": info.content_type,
                                 "switchboard.image.bytes": len(data),
                                 "switchboard.image.size": f"{info.width}x{info.height}"})
            labels = self._classify(decode_image(data, self._max_pixels), request.top_k)
            result = VisionResult(labels=labels, model=self._model)
            span.set_attributes({"gen_ai.response.model": result.model, "switchboard.vision.labels": len(labels)})
            if self._trace_content:  # labels say what the picture shows: user content
                span.set_attribute("gen_ai.completion", result.describe())
        return result

    def _read(self, image: AttachmentRef) -> bytes:
        data = self._blobs.get(image.sha256)
        if data is None:  # expired, or not what its address says
            raise ImageNotFound(image.sha256)
        return data

    def _check(self, data: bytes) -> ImageInfo:
        if len(data) > self._max_bytes:
            raise InvalidImage(f"the file is {len(data)} bytes, over the {self._max_bytes} byte limit")
        try:
            info = read_image_header(data)
        except NotAnImage as exc:
            raise InvalidImage(str(exc)) from None
        if info.width * info.height > self._max_pixels:
            raise InvalidImage(f"{info.width}x{info.height} is over the {self._max_pixels} pixel limit")
        return info

    def _classify(self, pixels: np.ndarray, top_k: int) -> tuple[VisionLabel, ...]:
        started = time.perf_counter()
        pairs = self._classifier.classify(pixels, top_k, traceparent=inject_context().get("traceparent"),
                                          timeout_s=self._timeout_s)
        self._metrics.hop_duration.labels(hop=MODEL_HOP).observe(time.perf_counter() - started)
        # float32 softmax can round a hair past 1; the wire model allows 0..1.
        return tuple(VisionLabel(label=label, score=min(max(score, 0.0), 1.0)) for label, score in pairs)


def build_vision_recognizer(settings: InferenceSettings, classifier: Classifier | None, metrics: Metrics,
                            tracer: trace.Tracer | None = None) -> VisionRecognizer | None:
    """The vision role as configured; None (vision requests refused with `RoleNotConfigured`) when off.

    `classifier` is the started `ModelHost` holding the vision deployment; raises `ValueError` when the
    role is configured but no classifier is given (a start-up bug, not a configuration).
    """
    role = settings.vision_role()
    if role is None:
        return None
    if classifier is None:
        raise ValueError("the vision role is configured but its deployment was not started")
    blobs = SyncBlobStore(connect_sync(settings, decode_responses=False), settings.image_retention_s)
    return VisionRecognizer(classifier, blobs, metrics, role.model_name,
                            max_bytes=settings.vision_max_image_bytes, max_pixels=settings.vision_max_pixels,
                            timeout_s=settings.vision_timeout_s, trace_content=settings.trace_content,
                            tracer=tracer)
