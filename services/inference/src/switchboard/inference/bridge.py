"""The inference bridge: a Celery task on `sb.inference` that runs a model step.

Each request names a model by alias or catalog name (`resolver`); the bridge resolves it, waits for a
slot of the model's lane (`admission`), then runs it. Chat requests stream from a `ChatModel`: the Ray
Serve deployment (`ModelHost`) or a hosted API driver (`providers`). The bridge publishes the text so far
on `sb:live:<activation>` for the gateway to show, and returns the full result for the journal; the
model's tool calls come back as `InferenceResult.tool_calls`. A replica that dies mid-answer is asked
again (a model call is pure) up to `REPLICA_ATTEMPTS` times. A GenAI span (`chat <model>`) covers the
call; prompts, completions and tool arguments stay out of it unless content tracing is on. Image, vision
and embed requests go to their role's runner (`images`, `vision`, `embeddings`), or fail with
`RoleNotConfigured` when this deployment has no such role.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from contextlib import closing, nullcontext
from typing import Any

import redis
from celery import Celery
from opentelemetry.trace import Span, SpanKind

from switchboard.core import keys
from switchboard.core.errors import RoleNotConfigured, Superseded
from switchboard.core.journal import SyncJournal
from switchboard.core.keys import Task
from switchboard.core.lanes import LaneRecorder
from switchboard.core.metrics import Metrics
from switchboard.core.steps import execute_step, mark_lane
from switchboard.core.tracing import inject_context, tracer
from switchboard.core.wire import (
    ChatMessage,
    EmbedRequest,
    EmbedResult,
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
from switchboard.inference.admission import Admission
from switchboard.inference.chat_models import ChatModel, ChatModels
from switchboard.inference.deployments.config import EMBED_ROLE, VISION_ROLE
from switchboard.inference.deployments.errors import ReplicaLost
from switchboard.inference.embeddings import Embedder
from switchboard.inference.images import IMAGE_ROLE, ImageGenerator
from switchboard.inference.resolver import ModelEntry, Role
from switchboard.inference.vision import VisionRecognizer

HOP = "inference"
REPLICA_ATTEMPTS = 3

logger = logging.getLogger(__name__)

StepResult = InferenceResult | ImageResult | VisionResult | EmbedResult


class InferenceBridge:
    """Runs a step by its payload kind. A role runner left None means this deployment has no such role;
    without `admission` requests run unadmitted (tests of one request at a time)."""

    def __init__(self, chat: ChatModels, live: redis.Redis, metrics: Metrics, live_interval_s: float,
                 trace_content: bool, *, images: ImageGenerator | None = None,
                 vision: VisionRecognizer | None = None, embedder: Embedder | None = None,
                 lane: LaneRecorder | None = None, admission: Admission | None = None) -> None:
        self._chat = chat
        self._catalog = chat.catalog
        self._lane = lane
        self._admission = admission
        # The roles besides chat, by request type: the role's name and its runner (None: not configured here).
        self._runners: dict[type, tuple[Role, Callable[[StepRequest], StepResult] | None]] = {
            ImageRequest: (IMAGE_ROLE, images.generate if images else None),
            VisionRequest: (VISION_ROLE, vision.recognize if vision else None),
            EmbedRequest: (EMBED_ROLE, embedder.embed if embedder else None)}
        self._live = live
        self._metrics = metrics
        self._live_interval_s = live_interval_s
        self._trace_content = trace_content

    def run(self, step: StepRequest) -> StepResult:
        request = step.payload
        if isinstance(request, InferenceRequest):
            entry, model = self._chat.pick(request)
            with self._admitted(entry):
                return self._chat_call(step, request, entry, model)
        if type(request) not in self._runners:
            raise TypeError(f"{step.task_id}: the inference bridge got a {request.kind}")
        role, runner = self._runners[type(request)]
        if runner is None:
            raise RoleNotConfigured(role)
        with self._admitted(self._catalog.resolve(role, request.model)):
            return runner(step)

    def _admitted(self, entry: ModelEntry) -> Any:
        mark_lane(entry.lane)
        return self._admission.admit(entry) if self._admission is not None else nullcontext()

    def _chat_call(self, step: StepRequest, request: InferenceRequest, entry: ModelEntry,
                   model: ChatModel) -> InferenceResult:
        with tracer().start_as_current_span(f"chat {entry.provider_model}", kind=SpanKind.CLIENT, attributes={
            "gen_ai.operation.name": "chat", "gen_ai.provider.name": entry.provider,
            "gen_ai.request.model": entry.provider_model, "switchboard.model": entry.name,
            "switchboard.lane": entry.lane, "gen_ai.request.max_tokens": request.max_tokens,
            "gen_ai.request.temperature": request.temperature, "gen_ai.request.tools": len(request.tools),
            "switchboard.activation_id": step.activation_id,
        }) as span:
            started = time.perf_counter()
            result = self._stream_retrying(model, entry, request, span)
            self._metrics.inference_duration.labels(model=result.model, provider=entry.provider).observe(
                time.perf_counter() - started)
            span.set_attributes({
                "gen_ai.response.model": result.model, "gen_ai.response.finish_reasons": [result.finish_reason],
                "gen_ai.usage.input_tokens": result.prompt_tokens,
                "gen_ai.usage.output_tokens": result.completion_tokens,
                "switchboard.response.tool_calls": len(result.tool_calls)})
            if result.time_to_first_token_s is not None:
                span.set_attribute("gen_ai.response.time_to_first_chunk", result.time_to_first_token_s)
            if self._trace_content:  # tool arguments are content too: they quote the conversation
                span.set_attribute("gen_ai.completion", result.text)
                if result.tool_calls:
                    span.set_attribute("switchboard.completion.tool_calls",
                                       json.dumps([call.model_dump(include={"id", "name", "arguments"})
                                                   for call in result.tool_calls]))
        if self._lane is not None and entry == self._chat.default:  # what agent groups plan their turns from
            self._lane.observe(result.time_to_first_token_s, result.completion_tokens, time.perf_counter() - started)
        return result

    def _stream_retrying(self, model: ChatModel, entry: ModelEntry, request: InferenceRequest,
                         span: Span) -> InferenceResult:
        """Stream the answer; when the replica dies mid-answer, start over on another (the call is pure)."""
        for attempt in range(1, REPLICA_ATTEMPTS + 1):
            try:
                return self._stream(model, entry, request)
            except ReplicaLost as lost:
                span.add_event("replica_lost", {"attempt": attempt, "cause": lost.cause})
                if attempt == REPLICA_ATTEMPTS:
                    raise
                logger.warning("%s; asking again (attempt %d of %d)", lost, attempt + 1, REPLICA_ATTEMPTS)
        raise AssertionError("unreachable")

    def _stream(self, model: ChatModel, entry: ModelEntry, request: InferenceRequest) -> InferenceResult:
        started = time.perf_counter()
        text, first_token_s, last_publish, seq = "", None, 0.0, 0
        done: dict[str, Any] = {}
        with closing(model.stream_chat(_ray_request(request))) as chunks:  # an early exit cancels
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
        return self._result(text, done, first_token_s, entry)

    def _stop_if_superseded(self, activation_id: str) -> None:
        """A newer message replaced this activation: stop generating (closing the stream cancels it)."""
        if by := self._live.get(keys.superseded(activation_id)):
            raise Superseded(f"activation {activation_id} was replaced by {by}")

    def _publish(self, activation_id: str, seq: int, text: str) -> None:
        delta = ReplyDelta(activation_id=activation_id, seq=seq, text=text)
        self._live.publish(keys.live(activation_id), delta.to_json())

    def _result(self, text: str, done: dict[str, Any], first_token_s: float | None,
                entry: ModelEntry) -> InferenceResult:
        model = done.get("model", entry.provider_model)
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
        if request.tool_choice:
            body["tool_choice"] = request.tool_choice
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
