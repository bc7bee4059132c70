"""Driver for Anthropic's Messages API: `POST {base_url}/v1/messages` with `"stream": true`.

Implements the bridge's `ChatModel` protocol without Ray, like `openai_chat.OpenAIChat`: `stream_chat(request)`
takes the request dict of `deployments.protocol` and yields its `delta` chunks as Claude streams them, then
one `done` chunk with finish reason, token usage, model and any tool calls. The request is mapped by
`anthropic_request`, the stream read by `anthropic_stream`; HTTP, error typing and early close are
`chat_http`'s (see there).

`base_url` is the API's root (`https://api.anthropic.com`); a trailing `/v1`, as OpenAI-style settings
write it, is dropped so the path is not doubled. The key goes in the `x-api-key` header, never in an
error, log or span.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from pydantic import SecretStr

from switchboard.inference.providers.anthropic_request import anthropic_body
from switchboard.inference.providers.anthropic_stream import AnthropicStreamParser
from switchboard.inference.providers.chat_http import ChatHttp

API_VERSION = "2023-06-01"  # the Messages API's only version; newer features come as beta headers
MESSAGES_PATH = "/v1/messages"


class AnthropicChat:
    """One HTTP connection pool per driver; `stream_chat` is safe to call from several threads."""

    provider = "anthropic"

    def __init__(self, base_url: str, model: str, api_key: SecretStr | None, timeout_s: float) -> None:
        self.model = model
        secret = api_key.get_secret_value() if api_key else ""
        headers = {"anthropic-version": API_VERSION, "content-type": "application/json"}
        if secret:
            headers["x-api-key"] = secret
        self._http = ChatHttp(base_url.rstrip("/").removesuffix("/v1"), headers, timeout_s, secret)

    def stream_chat(self, request: dict[str, Any]) -> Generator[dict[str, Any], None, None]:
        """Yield the chunks of one answer; raises `ModelUnavailable` or `InferenceError` (see `chat_http`)."""
        yield from self._http.stream(MESSAGES_PATH, anthropic_body(request, self.model),
                                     AnthropicStreamParser(self.model))

    def close(self) -> None:
        self._http.close()
