"""The real local model answers a channel whose history has outgrown its context window."""

from __future__ import annotations

from switchboard.inference.deployments.config import ChatRoleConfig
from switchboard.inference.deployments.engines import LlamaEngine
from switchboard.inference.deployments.protocol import parse_chat_request

N_CTX = 512


def test_a_history_longer_than_the_context_still_gets_a_full_answer() -> None:
    engine = LlamaEngine(ChatRoleConfig(backend="llama", n_ctx=N_CTX, n_threads=1))
    history = [{"role": "user" if i % 2 == 0 else "assistant",
                "content": f"Message {i}: the lighthouse keeper counted the ships passing the rocks at night."}
               for i in range(60)]  # about 1 300 tokens
    request = parse_chat_request({"messages": [{"role": "system", "content": "You are a helpful assistant."},
                                               *history, {"role": "user", "content": "Say hello."}],
                                  "max_tokens": 24, "temperature": 0, "seed": 1})
    chunks = list(engine.stream(request))
    done = chunks[-1]
    assert done["type"] == "done" and done["completion_tokens"] > 0
    assert done["prompt_tokens"] + 24 <= N_CTX  # the answer had all the room it asked for
