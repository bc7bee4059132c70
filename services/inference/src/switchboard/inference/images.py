"""The `image` model role: a driver makes the pictures, `ImageGenerator` checks them and stores them as blobs.

A driver returns raw image bytes. The generator accepts only PNG, JPEG or WebP files under the size cap,
stores each as a content-addressed blob (`sb:blob:<sha256>`, SET NX, like `BlobStore`) and returns an
`ImageResult` of `AttachmentRef`s the planner can hand to the gateway. One GenAI span (`generate_image
<model>`) covers the call; the prompt stays out of it unless content tracing is on.

Drivers: a hosted Images API (`providers.openai_images`), or the image role's own Ray Serve deployment
(`DeploymentImages` over `ModelHost.generate_images`), which the generator treats like any provider.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol

from opentelemetry import trace
from opentelemetry.trace import SpanKind

from switchboard.core.blobs import SyncBlobStore
from switchboard.core.errors import InferenceError
from switchboard.core.metrics import Metrics
from switchboard.core.tracing import inject_context
from switchboard.core.tracing import tracer as switchboard_tracer
from switchboard.core.wire import AttachmentRef, ImageRequest, ImageResult, StepRequest
from switchboard.inference.image_headers import ImageInfo, NotAnImage, read_image_header
from switchboard.inference.resolver import LOCAL_PROVIDER

IMAGE_ROLE = "image"
PROVIDER_HOP = "image_provider"  # hop label of the provider call's latency


@dataclass(frozen=True)
class GeneratedImages:
    """What a driver produced: encoded image files (not yet checked) and what the provider said."""

    images: tuple[bytes, ...]
    model: str
    revised_prompt: str | None = None


class ImageDriver(Protocol):
    """Turns an image request into image files; raises `ModelUnavailable` (retryable) or `InferenceError`."""

    model: str
    provider: str  # `gen_ai.provider.name` on the span

    def generate(self, request: ImageRequest) -> GeneratedImages: ...


class ImageDeployment(Protocol):
    """What `DeploymentImages` needs from the image role's deployment (`ModelHost` has it)."""

    def generate_images(self, prompt: str, width: int, height: int, count: int, seed: int | None, *,
                        traceparent: str | None = None, timeout_s: float | None = None) -> list[bytes]: ...


class DeploymentImages:
    """An `ImageDriver` over the local image deployment: the request's size, count and seed go to the
    pipeline as they are, and its PNG files come back to the generator's checks like a provider's.

    A replica that does not answer within `timeout_s`, or dies, is `ModelUnavailable` (retryable).
    """

    provider = LOCAL_PROVIDER

    def __init__(self, deployment: ImageDeployment, model: str, timeout_s: float) -> None:
        self.model = model
        self._deployment = deployment
        self._timeout_s = timeout_s

    def generate(self, request: ImageRequest) -> GeneratedImages:
        files = self._deployment.generate_images(request.prompt, request.width, request.height, request.count,
                                                 request.seed, traceparent=inject_context().get("traceparent"),
                                                 timeout_s=self._timeout_s)
        return GeneratedImages(images=tuple(files), model=self.model)


class ImageGenerator:
    """Runs image steps: driver call under a span, checks, blob storage, `ImageResult`."""

    def __init__(self, driver: ImageDriver, blobs: SyncBlobStore, metrics: Metrics, max_bytes: int,
                 trace_content: bool, tracer: trace.Tracer | None = None) -> None:
        self._driver = driver
        self._blobs = blobs
        self._metrics = metrics
        self._max_bytes = max_bytes
        self._trace_content = trace_content
        self._tracer = tracer or switchboard_tracer()

    def generate(self, step: StepRequest) -> ImageResult:
        request = step.payload
        if not isinstance(request, ImageRequest):
            raise TypeError(f"{step.task_id}: the image generator got a {request.kind}")
        model = self._driver.model
        with self._tracer.start_as_current_span(f"generate_image {model}", kind=SpanKind.CLIENT, attributes={
            "gen_ai.operation.name": "generate_image", "gen_ai.provider.name": self._driver.provider,
            "gen_ai.request.model": model, "gen_ai.request.choice.count": request.count,
            "switchboard.image.size": f"{request.width}x{request.height}",
            "switchboard.activation_id": step.activation_id,
        }) as span:
            if self._trace_content:
                span.set_attribute("gen_ai.prompt", request.prompt)
            started = time.perf_counter()
            generated = self._driver.generate(request)
            self._metrics.hop_duration.labels(hop=PROVIDER_HOP).observe(time.perf_counter() - started)
            result = self._store(generated, request.count)
            span.set_attributes({"gen_ai.response.model": result.model, "switchboard.image.count": len(result.images),
                                 "switchboard.image.bytes": sum(image.size for image in result.images)})
            if self._trace_content and result.revised_prompt:
                span.set_attribute("switchboard.image.revised_prompt", result.revised_prompt)
        return result

    def _store(self, generated: GeneratedImages, wanted: int) -> ImageResult:
        """Check every image first, then store them: a bad image fails the step without half a result."""
        files = generated.images[:wanted]  # extra images a provider sends are dropped, never stored
        if not files:
            raise InferenceError("the image provider returned no image")
        checked = [(data, self._check(index, data)) for index, data in enumerate(files, 1)]
        refs = tuple(self._attachment(index, data, info) for index, (data, info) in enumerate(checked, 1))
        return ImageResult(images=refs, model=generated.model, revised_prompt=generated.revised_prompt)

    def _check(self, index: int, data: bytes) -> ImageInfo:
        if len(data) > self._max_bytes:
            raise InferenceError(f"image {index} from the provider is {len(data)} bytes, over the "
                                 f"{self._max_bytes} byte limit")
        try:
            return read_image_header(data)
        except NotAnImage as exc:
            raise InferenceError(f"image {index} from the provider is not a usable image: {exc}") from None

    def _attachment(self, index: int, data: bytes, info: ImageInfo) -> AttachmentRef:
        digest = self._blobs.put(data)
        return AttachmentRef(filename=f"image-{index}.{info.extension}", content_type=info.content_type,
                             size=len(data), sha256=digest, media="image", width=info.width, height=info.height)
