"""Driver for an OpenAI-compatible Images API: `POST {base_url}/images/generations`, images as base64.

Errors are typed by what a retry could do: rate limits, server errors, timeouts and unreachable hosts
are `ModelUnavailable` (retryable); a refused request (bad size, content policy) is `InferenceError`
with the provider's own message, since the user can change the prompt. The API key is sent as a bearer
token and never appears in an error message, a log line or a span.
"""

from __future__ import annotations

import base64
from typing import Any

import httpx
from pydantic import SecretStr

from switchboard.core.errors import InferenceError, ModelUnavailable
from switchboard.core.wire import ImageRequest
from switchboard.inference.images import GeneratedImages

CONNECT_TIMEOUT_S = 10.0
MAX_MESSAGE_CHARS = 300  # of a provider's error text, shown to the user


class OpenAIImages:
    """One HTTP connection pool per driver; `generate` is safe to call from several threads."""

    provider = "openai"

    def __init__(self, base_url: str, model: str, api_key: SecretStr | None, timeout_s: float) -> None:
        self.model = model
        self._api_key = api_key
        headers = {"Authorization": f"Bearer {api_key.get_secret_value()}"} if api_key else {}
        # httpx's timeout bounds each phase (connect, each read), which is what a hung provider trips.
        self._client = httpx.Client(base_url=base_url.rstrip("/"), headers=headers,
                                    timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, CONNECT_TIMEOUT_S)))

    def generate(self, request: ImageRequest) -> GeneratedImages:
        body = {"model": self.model, "prompt": request.prompt, "n": request.count,
                "size": f"{request.width}x{request.height}", "response_format": "b64_json"}
        # OpenAI's Images API takes no seed, so `request.seed` is not sent.
        try:
            response = self._client.post("/images/generations", json=body)
        except httpx.TimeoutException:
            waited = self._client.timeout.read
            raise ModelUnavailable(f"the image provider did not answer within {waited:g} s") from None
        except httpx.TransportError as exc:
            raise ModelUnavailable(f"the image provider is unreachable ({type(exc).__name__})") from None
        self._raise_for_status(response)
        return self._parse(response)

    def _raise_for_status(self, response: httpx.Response) -> None:
        status = response.status_code
        if status < 400:
            return
        if status == 429 or status >= 500:
            raise ModelUnavailable(f"the image provider is busy or failing ({status}): {self._message(response)}")
        if status in (401, 403):  # the provider's text may quote part of the key: say nothing more
            raise InferenceError(f"the image provider refused this bot's API key ({status})")
        raise InferenceError(f"the image provider refused the request ({status}): {self._message(response)}")

    def _message(self, response: httpx.Response) -> str:
        """The provider's error message (OpenAI: `{"error": {"message": ...}}`), shortened, key removed."""
        try:
            error = response.json().get("error")
            message = error.get("message") if isinstance(error, dict) else error
        except (ValueError, AttributeError):
            message = None
        text = str(message) if message else response.text.strip() or response.reason_phrase
        if self._api_key and self._api_key.get_secret_value():
            text = text.replace(self._api_key.get_secret_value(), "***")
        return text[:MAX_MESSAGE_CHARS]

    def _parse(self, response: httpx.Response) -> GeneratedImages:
        try:
            document = response.json()
            items = document["data"]
            images = tuple(_decode(item) for item in items)
        except (ValueError, KeyError, TypeError) as exc:
            raise InferenceError(f"the image provider sent no usable image ({exc.__class__.__name__})") from None
        revised = next((item.get("revised_prompt") for item in items if item.get("revised_prompt")), None)
        return GeneratedImages(images=images, model=self.model, revised_prompt=revised)


def _decode(item: dict[str, Any]) -> bytes:
    encoded = item["b64_json"]
    if not isinstance(encoded, str):
        raise TypeError("b64_json is not a string")
    return base64.b64decode(encoded, validate=True)  # binascii.Error (a ValueError) on anything but base64
