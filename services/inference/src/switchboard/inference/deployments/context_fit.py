"""Fitting a conversation into a local model's context window: the oldest history goes first.

llama.cpp refuses a prompt longer than its context outright, and a prompt that fills most of it leaves the
answer only what remains (an answer cut after a few words). A channel that talks long enough grows its
history past any fixed window, so before each generation the oldest messages other than the system
instructions and the newest message are left out until the prompt leaves room for the answer. The system
messages (wherever they stand: an agent group's persona instructions come last) and the newest other message
always stay; when those alone do not fit, the request fails with a typed
`PromptTooLong` rather than an error from deep inside llama.cpp.

Token counts are the contents' tokens plus a per-message allowance for the chat template's markers: a
bound, not the template's exact count, so the room left is never less than asked.
"""

from __future__ import annotations

from collections.abc import Callable

from switchboard.core.errors import PromptTooLong

TEMPLATE_TOKENS_PER_MESSAGE = 8  # role markers and separators: SmolLM2's template spends 5
GENERATION_PROMPT_TOKENS = 8  # the assistant header the template opens the answer with
MIN_ANSWER_TOKENS = 16  # less than this is no answer


def fit_to_context(messages: list[dict[str, str]], n_ctx: int, max_tokens: int,
                   count_tokens: Callable[[str], int]) -> list[dict[str, str]]:
    """`messages` with the fewest oldest history messages left out so that the prompt leaves `max_tokens`
    (at most half the context) for the answer. Raises `PromptTooLong` when the system messages and the newest
    message leave less than `MIN_ANSWER_TOKENS`."""
    sizes = [count_tokens(m["content"]) + TEMPLATE_TOKENS_PER_MESSAGE for m in messages]
    budget = n_ctx - GENERATION_PROMPT_TOKENS - min(max_tokens, n_ctx // 2)
    total = sum(sizes)
    if total <= budget:
        return messages
    history = [i for i, m in enumerate(messages) if m["role"] != "system"]
    droppable = history[:-1]  # oldest first; the newest message always stays
    dropped = set()
    for index in droppable:
        if total <= budget:
            break
        dropped.add(index)
        total -= sizes[index]
    if total > n_ctx - GENERATION_PROMPT_TOKENS - MIN_ANSWER_TOKENS:
        raise PromptTooLong(f"the prompt needs about {total} tokens without any history; the model's context "
                            f"holds {n_ctx}")
    return [m for i, m in enumerate(messages) if i not in dropped]
