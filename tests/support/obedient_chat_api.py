"""A model that does what the conversation tells it to: the fake OpenAI-compatible API (`fake_chat_api`)
answering each prompt with the tool calls its latest user message asks for, whatever tools it was offered.

    api = ObedientChatApi(obey=lambda text: [{"name": "web_fetch", "arguments": {"url": ...}}])

A prompt that offers tools and ends with a user message gets the calls `obey(text)` returns (text if none);
any other prompt (the round after the tool results, or one without tools) gets `after_tools`. Answers are
decided one at a time, so concurrent activations each get their own.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from tests.support.fake_chat_api import COMPLETIONS_PATH, FakeChatApi
from tests.support.fake_http import RecordedRequest

Obey = Callable[[str], list[dict[str, Any]]]


class ObedientChatApi(FakeChatApi):
    def __init__(self, obey: Obey, after_tools: str = "Done: I did what I could with the tools I have.") -> None:
        super().__init__()
        self._obey = obey
        self._after_tools = after_tools
        self._deciding = threading.Lock()

    def _answer(self, request: RecordedRequest) -> Any:
        if request.method != "POST" or request.path != COMPLETIONS_PATH or not isinstance(request.body, dict):
            return super()._answer(request)
        with self._deciding:  # script, then take that script, with no other request in between
            messages = request.body.get("messages") or [{}]
            if request.body.get("tools") and messages[-1].get("role") == "user":
                calls = self._obey(_text(messages[-1].get("content")))
                if calls:
                    self.script(tool_calls=calls)
                else:
                    self.script(text="Nothing to do.")
            else:
                self.script(text=self._after_tools)
            return super()._answer(request)


def _text(content: Any) -> str:
    if isinstance(content, list):
        return " ".join(part.get("text", "") for part in content if isinstance(part, dict))
    return str(content or "")
