"""The vision role's `vlm` backend: a hosted chat model that can read images says what one shows.

`ChatVision` asks the catalog's chosen chat model (capability `vision_input`; see `catalog.vision_chat_model`)
through its driver, as the bridge asks for a chat answer: one user message holding the operator's
instruction (`vision_prompt`) and the image inline (`"images"` in `deployments.protocol`), streamed to its
end. The answer is the caption; `VisionResult.model` is the model the provider says answered, which for an
alias such as `gpt-4o` is the dated version that ran. The file goes in its own type (PNG, JPEG or WebP,
which every driver takes), as it is stored unless it is bigger than the model can use (`vlm_image`): the
checks before it (`vision_input`) already refused what a provider would.

An answer with no text (a refusal, a filtered reply) is `InferenceError`: an empty caption would read as
"nothing recognised", which is not what happened. Driver errors pass through typed (`ModelUnavailable` when a
retry could help). Token usage and call time go to the same metrics as chat calls, by model and provider.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Generator
from contextlib import closing
from typing import Any, Protocol

from opentelemetry.trace import Span

from switchboard.core.errors import InferenceError
from switchboard.core.metrics import Metrics
from switchboard.core.tracing import inject_context
from switchboard.core.wire import VisionRequest, VisionResult
from switchboard.inference.resolver import ModelEntry
from switchboard.inference.vision_input import CheckedImage
from switchboard.inference.vlm_image import VlmImage, fit_for_vlm

# A caption should say what is there, the same way each time it is asked.
TEMPERATURE = 0.0


class StreamsChat(Protocol):
    """What describing needs of a chat driver (every hosted driver, and `ChatModels`' backends, have it)."""

    def stream_chat(self, request: dict[str, Any]) -> Generator[dict[str, Any], None, None]: ...


class ChatVision:
    """Describes checked images with one chat model; `entry` is its chat catalog entry."""

    operation = "describe_image"

    def __init__(self, chat: StreamsChat, entry: ModelEntry, metrics: Metrics, *, prompt: str,
                 max_tokens: int, max_edge: int, max_upload_bytes: int) -> None:
        self._chat = chat
        self._entry = entry
        self._metrics = metrics
        self._prompt = prompt
        self._max_tokens = max_tokens
        self._max_edge = max_edge
        self._max_upload_bytes = max_upload_bytes

    @property
    def model(self) -> str:
        """The model id sent to the provider: what the span is named after."""
        return self._entry.provider_model

    def span_attributes(self) -> dict[str, Any]:
        return {"gen_ai.provider.name": self._entry.provider, "switchboard.model": self._entry.name,
                "switchboard.lane": self._entry.lane, "gen_ai.request.max_tokens": self._max_tokens}

    def look(self, image: CheckedImage, request: VisionRequest, span: Span) -> VisionResult:
        """The caption of `image`; raises `InferenceError` (or `ModelUnavailable`) when there is none."""
        started = time.perf_counter()
        sent = fit_for_vlm(image, max_edge=self._max_edge, max_bytes=self._max_upload_bytes)
        span.set_attributes({"switchboard.image.resized": sent.resized,
                             "switchboard.image.sent_size": f"{sent.width}x{sent.height}",
                             "switchboard.image.sent_bytes": len(sent.data)})
        text, done = self._ask(sent)
        model = str(done.get("model") or self.model)
        self._metrics.inference_duration.labels(model=model, provider=self._entry.provider).observe(
            time.perf_counter() - started)
        prompt_tokens, completion_tokens = int(done.get("prompt_tokens", 0)), int(done.get("completion_tokens", 0))
        self._metrics.tokens.labels(model=model, direction="input").inc(prompt_tokens)
        self._metrics.tokens.labels(model=model, direction="output").inc(completion_tokens)
        finish_reason = str(done.get("finish_reason", "stop"))
        span.set_attributes({"gen_ai.response.finish_reasons": [finish_reason],
                             "gen_ai.usage.input_tokens": prompt_tokens,
                             "gen_ai.usage.output_tokens": completion_tokens})
        caption = text.strip()
        if not caption:
            raise InferenceError(f"the vision model {model} said nothing about the image "
                                 f"(finish reason {finish_reason})")
        return VisionResult(caption=caption, model=model)

    def _ask(self, image: VlmImage) -> tuple[str, dict[str, Any]]:
        """The answer's text and its done chunk."""
        message = {"role": "user", "content": self._prompt,
                   "images": [{"media_type": image.media_type,
                               "data": base64.b64encode(image.data).decode("ascii")}]}
        body = {"messages": [message], "max_tokens": self._max_tokens, "temperature": TEMPERATURE,
                "traceparent": inject_context().get("traceparent")}
        pieces: list[str] = []
        done: dict[str, Any] = {}
        with closing(self._chat.stream_chat(body)) as chunks:
            for chunk in chunks:
                if chunk["type"] == "done":
                    done = chunk
                else:
                    pieces.append(chunk["text"])
        return "".join(pieces), done
