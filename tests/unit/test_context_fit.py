"""A conversation longer than the model's context loses its oldest history, never its instructions or the
newest message; one that cannot fit at all fails with a typed error."""

from __future__ import annotations

import pytest

from switchboard.core.errors import InferenceError, PromptTooLong
from switchboard.inference.deployments.context_fit import (
    GENERATION_PROMPT_TOKENS,
    TEMPLATE_TOKENS_PER_MESSAGE,
    fit_to_context,
)


def words(text: str) -> int:
    return len(text.split())


def message(role: str, size: int, name: str) -> dict[str, str]:
    return {"role": role, "content": " ".join([name] * size)}


def conversation(history: int, size: int) -> list[dict[str, str]]:
    turns = [message("user" if i % 2 == 0 else "assistant", size, f"h{i}") for i in range(history)]
    return [message("system", 10, "rules"), *turns, message("user", 10, "newest")]


def cost(messages: list[dict[str, str]]) -> int:
    return sum(words(m["content"]) + TEMPLATE_TOKENS_PER_MESSAGE for m in messages) + GENERATION_PROMPT_TOKENS


def test_a_conversation_that_fits_is_sent_whole() -> None:
    messages = conversation(history=4, size=20)
    assert fit_to_context(messages, n_ctx=2048, max_tokens=200, count_tokens=words) == messages


def test_the_oldest_history_goes_first_until_the_answer_has_its_room() -> None:
    messages = conversation(history=40, size=50)  # about 2 300 tokens, over a 2 048 context
    fitted = fit_to_context(messages, n_ctx=2048, max_tokens=200, count_tokens=words)
    assert fitted[0] == messages[0] and fitted[-1] == messages[-1]
    assert fitted[1:-1] == messages[len(messages) - len(fitted) + 1:-1]  # a contiguous run of the newest history
    assert cost(fitted) + 200 <= 2048
    assert cost(fitted) + 200 + 58 > 2048  # and no more left out than needed: one more message would not fit


def test_a_huge_answer_limit_does_not_empty_the_history() -> None:
    fitted = fit_to_context(conversation(history=40, size=50), n_ctx=2048, max_tokens=100_000, count_tokens=words)
    assert cost(fitted) > 1024 - 58  # half the context stays for the conversation


def test_instructions_and_the_newest_message_that_cannot_fit_are_a_typed_error() -> None:
    messages = [message("system", 1500, "rules"), message("user", 10, "old"), message("user", 600, "newest")]
    with pytest.raises(PromptTooLong) as raised:
        fit_to_context(messages, n_ctx=2048, max_tokens=200, count_tokens=words)
    assert isinstance(raised.value, InferenceError) and raised.value.code == "prompt_too_long"


def test_instructions_after_the_history_stay_and_so_does_the_newest_message_before_them() -> None:
    messages = [*conversation(history=40, size=50), message("system", 30, "persona")]
    fitted = fit_to_context(messages, n_ctx=2048, max_tokens=200, count_tokens=words)
    assert fitted[0] == messages[0] and fitted[-2:] == messages[-2:]
    assert fitted[1:-2] == messages[len(messages) - len(fitted) + 1:-2]
    assert cost(fitted) + 200 <= 2048
