"""The `embed` model role: texts to unit-length vectors, from a sentence-transformers model on Ray Serve.

`Embedder` runs embed steps: it asks the embed deployment (`ModelHost.embed`) for the vectors and returns an
`EmbedResult` in request order. A replica that does not answer in time, or dies, is `ModelUnavailable`
(retryable). One GenAI span (`embeddings <model>`) covers the step: it carries how many texts and their
total characters, never the texts.
"""

from __future__ import annotations

import time
from typing import Protocol

import numpy as np
from opentelemetry import trace
from opentelemetry.trace import SpanKind

from switchboard.core.metrics import Metrics
from switchboard.core.tracing import inject_context
from switchboard.core.tracing import tracer as switchboard_tracer
from switchboard.core.wire import EmbedRequest, EmbedResult, StepRequest
from switchboard.inference.settings import InferenceSettings

MODEL_HOP = "embed_model"  # hop label of the embed deployment call's latency


class Encoder(Protocol):
    """What the embedder needs from the embed deployment (`ModelHost` has it)."""

    def embed(self, texts: list[str], *, traceparent: str | None = None,
              timeout_s: float | None = None) -> tuple[np.ndarray, int]: ...


class Embedder:
    def __init__(self, encoder: Encoder, metrics: Metrics, model: str, timeout_s: float,
                 tracer: trace.Tracer | None = None) -> None:
        self._encoder = encoder
        self._metrics = metrics
        self._model = model
        self._timeout_s = timeout_s
        self._tracer = tracer or switchboard_tracer()

    def embed(self, step: StepRequest) -> EmbedResult:
        request = step.payload
        if not isinstance(request, EmbedRequest):
            raise TypeError(f"{step.task_id}: the embedder got a {request.kind}")
        with self._tracer.start_as_current_span(f"embeddings {self._model}", kind=SpanKind.CLIENT, attributes={
            "gen_ai.operation.name": "embeddings", "gen_ai.request.model": self._model,
            "switchboard.embed.texts": len(request.texts),
            "switchboard.embed.characters": sum(len(text) for text in request.texts),
            "switchboard.activation_id": step.activation_id,
        }) as span:
            started = time.perf_counter()
            vectors, max_tokens = self._encoder.embed(list(request.texts),
                                                      traceparent=inject_context().get("traceparent"),
                                                      timeout_s=self._timeout_s)
            self._metrics.hop_duration.labels(hop=MODEL_HOP).observe(time.perf_counter() - started)
            result = EmbedResult(vectors=tuple(tuple(float(x) for x in row) for row in vectors),
                                 model=self._model, dimensions=int(vectors.shape[1]), max_tokens=max_tokens)
            span.set_attributes({"gen_ai.response.model": result.model,
                                 "gen_ai.embeddings.dimension.count": result.dimensions})
        return result


def build_embedder(settings: InferenceSettings, encoder: Encoder | None, metrics: Metrics,
                   tracer: trace.Tracer | None = None) -> Embedder | None:
    """The embed role as configured; None (embed requests refused with `RoleNotConfigured`) when off.

    `encoder` is the started `ModelHost` holding the embed deployment; raises `ValueError` when the role is
    configured but no encoder is given (a start-up bug, not a configuration).
    """
    role = settings.embed_role()
    if role is None:
        return None
    if encoder is None:
        raise ValueError("the embed role is configured but its deployment was not started")
    return Embedder(encoder, metrics, role.model_name, settings.embed_timeout_s, tracer)
