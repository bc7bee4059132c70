"""In-process chat engines: turn a validated request into streamed chunks.

No Ray here, so engines can be exercised directly. An engine exposes
``stream(request: ChatRequest) -> Iterator[dict]`` yielding the chunks
described in ``protocol``. ``make_engine`` picks one from a ``ChatRoleConfig``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any, Protocol

from switchboard.inference.deployments.config import ChatRoleConfig
from switchboard.inference.deployments.context_fit import fit_to_context
from switchboard.inference.deployments.errors import ModelLoadError
from switchboard.inference.deployments.local_tools import ToolOffer, offered
from switchboard.inference.deployments.protocol import ChatRequest, FinishReason, delta_chunk, done_chunk
from switchboard.inference.deployments.weights import resolve_model_path


class ChatEngine(Protocol):
    """What the chat deployment needs from an engine."""

    def stream(self, request: ChatRequest) -> Iterator[dict[str, Any]]: ...


def make_engine(config: ChatRoleConfig) -> ChatEngine:
    """Build the engine for ``config.backend``; may raise ``ModelLoadError``."""
    if config.backend == "echo":
        return EchoEngine()
    return LlamaEngine(config)


class EchoEngine:
    """Streams the last user message back word by word, instantly.

    For benchmarking the pipeline without model time: token counts are word
    counts, ``max_tokens`` truncates (``finish_reason="length"``), and the
    done chunk's ``model`` is ``"echo"`` so its numbers are never mistaken
    for a real model's.
    """

    model_name = "echo"

    def stream(self, request: ChatRequest) -> Iterator[dict[str, Any]]:
        last_user = next((m["content"] for m in reversed(request.messages) if m["role"] == "user"), "")
        words = last_user.split()
        finish: FinishReason = "length" if len(words) > request.max_tokens else "stop"
        words = words[: request.max_tokens]
        for index, word in enumerate(words):
            yield delta_chunk(word if index == 0 else " " + word)
        prompt_words = sum(len(m["content"].split()) for m in request.messages)
        yield done_chunk(finish, prompt_words, len(words), self.model_name)


class LlamaEngine:
    """A GGUF model run by llama.cpp (``llama-cpp-python``), loaded at construction.

    Raises ``ModelLoadError`` if the file is missing or llama.cpp rejects it.
    ``stream`` is safe to call from several threads: a llama.cpp context is
    not thread-safe, so generations on one engine run one at a time.
    """

    def __init__(self, config: ChatRoleConfig) -> None:
        path = resolve_model_path(config)
        # Imported here so that only replicas (not the driver) load llama.cpp.
        from llama_cpp import Llama

        try:
            self._llm = Llama(
                model_path=str(path),
                n_ctx=config.n_ctx,
                n_threads=config.n_threads,
                seed=config.seed,
                verbose=False,
            )
        except (ValueError, RuntimeError, OSError) as exc:
            raise ModelLoadError(path, f"llama.cpp could not load it ({exc})") from exc
        self._model_name = config.model_name
        self._n_ctx = config.n_ctx
        self._lock = threading.Lock()

    def stream(self, request: ChatRequest) -> Iterator[dict[str, Any]]:
        # Held across yields: the consumer (a Serve worker thread) drains the
        # generator promptly, and closing it early releases the lock.
        with self._lock:
            yield from self._generate(request)

    def _generate(self, request: ChatRequest) -> Iterator[dict[str, Any]]:
        offer = request.tools
        messages = fit_to_context(offered(request.messages, offer), self._n_ctx, request.max_tokens, self._count)
        if offer is not None and offer.forced:
            yield from self._call(messages, request, offer)
            return
        parts: list[str] = []
        held = ""  # blank text the reply opens with, held while it may still be the start of a call
        finish: FinishReason = "length"
        for text, reason in self._sample(messages, request):
            finish = reason or finish
            if offer is not None and not parts:
                held += text
                if not held.strip():
                    continue
                if offer.opens_call(held):
                    yield from self._call(messages, request, offer)
                    return
                text, held = held, ""
            if text:
                parts.append(text)
                yield delta_chunk(text)
        prompt_tokens, completion_tokens = self._usage(held + "".join(parts), finish)
        yield done_chunk(finish, prompt_tokens, completion_tokens, self._model_name)

    def _call(self, messages: list[dict[str, str]], request: ChatRequest, offer: ToolOffer) -> Iterator[dict[str, Any]]:
        """Sample a tool call under the offer's grammar; held back whole, since a half call is no use to anyone.
        A call cut off by ``max_tokens`` is not one: its text comes back, finishing on ``length``."""
        from llama_cpp import LlamaGrammar

        grammar = LlamaGrammar.from_string(offer.call_grammar(), verbose=False)
        finish: FinishReason = "length"
        parts = []
        for text, reason in self._sample(messages, request, grammar):
            parts.append(text)
            finish = reason or finish
        completion = "".join(parts)
        prompt_tokens, completion_tokens = self._usage(completion, finish)
        calls = offer.read_calls(completion) if finish == "stop" else None
        if calls is None:
            yield delta_chunk(completion)
        yield done_chunk("tool_calls" if calls else finish, prompt_tokens, completion_tokens, self._model_name,
                         tool_calls=calls)

    def _sample(self, messages: list[dict[str, str]], request: ChatRequest,
                grammar: Any = None) -> Iterator[tuple[str, FinishReason | None]]:
        """(text, finish reason or None) per streamed chunk of one llama.cpp generation."""
        chunks = self._llm.create_chat_completion(
            messages=messages,
            stream=True,
            max_tokens=request.max_tokens,
            temperature=request.temperature,
            seed=request.seed,
            grammar=grammar,
        )
        for chunk in chunks:
            choice = chunk["choices"][0]
            reason = choice.get("finish_reason")
            text = choice["delta"].get("content") or ""
            if text or reason:
                yield text, ("length" if reason == "length" else "stop") if reason else None

    def _count(self, text: str) -> int:
        return len(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def _usage(self, completion: str, finish: FinishReason) -> tuple[int, int]:
        """Token counts of the generation that just ended (llama.cpp streams none).

        The completion is re-tokenized rather than counted in chunks, because
        llama.cpp merges tokens of a split multi-byte character into one chunk.
        The context then holds prompt + completion tokens, except that the
        last sampled token is never evaluated when the stream stops on length.
        """
        completion_tokens = self._count(completion)
        unevaluated = 1 if finish == "length" else 0
        prompt_tokens = self._llm.n_tokens - completion_tokens + unevaluated
        return max(prompt_tokens, 0), completion_tokens
