"""The inference bridge: a Celery task on `sb.inference` that runs a model step.

Chat requests run on a `ChatModel`: Ray Serve (`ModelHost`) or a hosted API driver (`providers`). The
bridge streams the model's tokens, publishes the text so far on `sb:live:<activation>` for the gateway
to show, and returns the full result for the journal; the model's tool calls come back as
`InferenceResult.tool_calls`. A GenAI span (`chat <model>`) covers the call; prompts, completions and
tool arguments stay out of it unless content tracing is on. Image requests go to the image role's
generator (see `images`) and vision requests to the vision role's recognizer (see `vision`), or fail
with `RoleNotConfigured` when this deployment has no such role.
"""

from __future__ import annotations

import json
import time
from collections.abc import Generator
from contextlib import closing
from typing import Any, Protocol

import redis
from celery import Celery
from opentelemetry.trace import SpanKind

from switchboard.core import keys
from switchboard.core.errors import RoleNotConfigured, Superseded
from switchboard.core.journal import SyncJournal
from switchboard.core.keys import Task
from switchboard.core.lanes import LaneRecorder
from switchboard.core.metrics import Metrics
from switchboard.core.steps import execute_step
from switchboard.core.tracing import inject_context, tracer
from switchboard.core.wire import (
    ChatMessage,
    ImageRequest,
    ImageResult,
    InferenceRequest,
    InferenceResult,
    ModelToolCall,
    ReplyDelta,
    StepRequest,
    VisionRequest,
    VisionResult,
)
from switchboard.inference.deployments.config import VISION_ROLE
from switchboard.inference.images import IMAGE_ROLE, ImageGenerator
from switchboard.inference.vision import VisionRecognizer

HOP = "inference"


class ChatModel(Protocol):
    def stream_chat(self, request: dict[str, Any]) -> Generator[dict[str, Any], None, None]: ...


class InferenceBridge:
    """Runs a step by its payload kind; `images=None` (`vision=None`) means this deployment has no image
    (vision) role."""

    def __init__(self, host: ChatModel, model_name: str, live: redis.Redis, metrics: Metrics,
                 live_interval_s: float, trace_content: bool, images: ImageGenerator | None = None,
                 vision: VisionRecognizer | None = None, lane: LaneRecorder | None = None) -> None:
        self._host = host
        self._lane = lane
        self._images = images
        self._vision = vision
        self._model = model_name
        self._live = live
        self._metrics = metrics
        self._live_interval_s = live_interval_s
        self._trace_content = trace_content

    def run(self, step: StepRequest) -> InferenceResult | ImageResult | VisionResult:
        request = step.payload
        if isinstance(request, ImageRequest):
            if self._images is None:
                raise RoleNotConfigured(IMAGE_ROLE)
            return self._images.generate(step)
        if isinstance(request, VisionRequest):
            if self._vision is None:
                raise RoleNotConfigured(VISION_ROLE)
            return self._vision.recognize(step)
        if not isinstance(request, InferenceRequest):
            raise TypeError(f"{step.task_id}: the inference bridge got a {request.kind}")
        return self._chat(step, request)

    def _chat(self, step: StepRequest, request: InferenceRequest) -> InferenceResult:
        with tracer().start_as_current_span(f"chat {self._model}", kind=SpanKind.CLIENT, attributes={
            "gen_ai.operation.name": "chat", "gen_ai.request.model": self._model,
            "gen_ai.request.max_tokens": request.max_tokens, "gen_ai.request.temperature": request.temperature,
            "gen_ai.request.tools": len(request.tools), "switchboard.activation_id": step.activation_id,
        }) as span:
            result = self._stream(request)
            span.set_attributes({
                "gen_ai.response.model": result.model, "gen_ai.response.finish_reasons": [result.finish_reason],
                "gen_ai.usage.input_tokens": result.prompt_tokens,
                "gen_ai.usage.output_tokens": result.completion_tokens,
                "switchboard.response.tool_calls": len(result.tool_calls)})
            if self._trace_content:  # tool arguments are content too: they quote the conversation
                span.set_attribute("gen_ai.completion", result.text)
                if result.tool_calls:
                    span.set_attribute("switchboard.completion.tool_calls",
                                       json.dumps([call.model_dump(include={"id", "name", "arguments"})
                                                   for call in result.tool_calls]))
        return result

    def _stream(self, request: InferenceRequest) -> InferenceResult:
        started = time.perf_counter()
        text, first_token_s, last_publish, seq = "", None, 0.0, 0
        done: dict[str, Any] = {}
        with closing(self._host.stream_chat(_ray_request(request))) as chunks:  # an early exit cancels
            for chunk in chunks:
                if chunk["type"] == "done":
                    done = chunk
                    continue
                text += chunk["text"]
                now = time.perf_counter()
                if first_token_s is None:
                    first_token_s = now - started
                if request.stream_to and now - last_publish >= self._live_interval_s:
                    self._stop_if_superseded(request.stream_to)
                    self._publish(request.stream_to, seq, text)
                    seq, last_publish = seq + 1, now
        if request.stream_to and seq:
            self._publish(request.stream_to, seq, text)
        result = self._result(text, done, first_token_s)
        if self._lane is not None:  # what agent groups predict their turn batches from
            self._lane.observe(first_token_s, result.completion_tokens, time.perf_counter() - started)
        return result

    def _stop_if_superseded(self, activation_id: str) -> None:
        """A newer message replaced this activation: stop generating (closing the stream cancels it)."""
        if by := self._live.get(keys.superseded(activation_id)):
            raise Superseded(f"activation {activation_id} was replaced by {by}")

    def _publish(self, activation_id: str, seq: int, text: str) -> None:
        delta = ReplyDelta(activation_id=activation_id, seq=seq, text=text)
        self._live.publish(keys.live(activation_id), delta.to_json())

    def _result(self, text: str, done: dict[str, Any], first_token_s: float | None) -> InferenceResult:
        model = done.get("model", self._model)
        result = InferenceResult(
            text=text, finish_reason=done.get("finish_reason", "stop"), model=model,
            prompt_tokens=done.get("prompt_tokens", 0), completion_tokens=done.get("completion_tokens", 0),
            tool_calls=tuple(ModelToolCall(id=call["id"], name=call["name"], arguments=call["arguments"])
                             for call in done.get("tool_calls", ())),
            time_to_first_token_s=first_token_s)
        if first_token_s is not None:
            self._metrics.time_to_first_token.labels(model=model).observe(first_token_s)
        self._metrics.tokens.labels(model=model, direction="input").inc(result.prompt_tokens)
        self._metrics.tokens.labels(model=model, direction="output").inc(result.completion_tokens)
        return result


def _ray_request(request: InferenceRequest) -> dict[str, Any]:
    """The request dict of `deployments.protocol`: plain data, so it pickles across Ray and maps to any API."""
    body: dict[str, Any] = {
        "messages": [_message(m) for m in request.messages],
        "max_tokens": request.max_tokens, "temperature": request.temperature, "seed": request.seed,
        "traceparent": inject_context().get("traceparent"),
    }
    if request.tools:
        body["tools"] = [tool.model_dump(include={"name", "description", "parameters"}) for tool in request.tools]
    return body


def _message(message: ChatMessage) -> dict[str, Any]:
    out: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.tool_calls:
        out["tool_calls"] = [call.model_dump(include={"id", "name", "arguments"}) for call in message.tool_calls]
    if message.tool_call_id is not None:
        out["tool_call_id"] = message.tool_call_id
    return out


def register_inference_task(app: Celery, bridge: InferenceBridge, journal: SyncJournal, metrics: Metrics) -> None:
    """Register `sb.inference.run` on `app`, bound to these dependencies."""

    @app.task(name=Task.RUN_INFERENCE.value, shared=False)  # shared tasks would leak into every app
    def run_inference(raw_request: str) -> None:
        execute_step(raw_request, bridge.run, journal, metrics, HOP)
