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
from switchboard.inference.providers.http_errors import raise_for_provider_status

CONNECT_TIMEOUT_S = 10.0


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
        secret = self._api_key.get_secret_value() if self._api_key else ""
        raise_for_provider_status(response, "the image provider", secret)
        return self._parse(response)

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
