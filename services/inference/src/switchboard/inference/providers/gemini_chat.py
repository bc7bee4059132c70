"""Driver for the Gemini API: `POST {base_url}/v1beta/models/{model}:streamGenerateContent?alt=sse`.

Implements the bridge's `ChatModel` protocol without Ray, like `openai_chat.OpenAIChat`: `stream_chat(request)`
takes the request dict of `deployments.protocol` and yields its `delta` chunks as Gemini streams them, then
one `done` chunk with finish reason, token usage, model and any tool calls. The request is mapped by
`gemini_request`, the stream read by `gemini_stream`; HTTP, error typing and early close are `chat_http`'s.

`base_url` is the API's root (`https://generativelanguage.googleapis.com`); a trailing `/v1beta` is dropped
so the path is not doubled. `model` is a model's name (`gemini-2.5-flash`), or a resource name with its
collection (`models/...`, `tunedModels/...`). `alt=sse` asks for server-sent events; without it Gemini
streams one JSON array. The key goes in the `x-goog-api-key` header, never in the URL (where access logs
would keep it), an error, a log or a span.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any
from urllib.parse import quote

from pydantic import SecretStr

from switchboard.inference.providers.chat_http import ChatHttp
from switchboard.inference.providers.gemini_request import gemini_body
from switchboard.inference.providers.gemini_stream import GeminiStreamParser

API_VERSION = "v1beta"  # function calling, system instructions and JSON-Schema tools are all there
STREAM_PARAMS = {"alt": "sse"}


class GeminiChat:
    """One HTTP connection pool per driver; `stream_chat` is safe to call from several threads."""

    provider = "gemini"

    def __init__(self, base_url: str, model: str, api_key: SecretStr | None, timeout_s: float) -> None:
        self.model = model
        secret = api_key.get_secret_value() if api_key else ""
        headers = {"x-goog-api-key": secret} if secret else {}
        self._http = ChatHttp(base_url.rstrip("/").removesuffix(f"/{API_VERSION}"), headers, timeout_s, secret)
        resource = model if "/" in model else f"models/{model}"
        self._path = f"/{API_VERSION}/{quote(resource, safe='/')}:streamGenerateContent"

    def stream_chat(self, request: dict[str, Any]) -> Generator[dict[str, Any], None, None]:
        """Yield the chunks of one answer; raises `ModelUnavailable` or `InferenceError` (see `chat_http`)."""
        yield from self._http.stream(self._path, gemini_body(request), GeminiStreamParser(self.model),
                                     params=STREAM_PARAMS)

    def close(self) -> None:
        self._http.close()
