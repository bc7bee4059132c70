"""How an OpenAI-compatible provider's HTTP errors become typed errors, with the API key kept out of them."""

from __future__ import annotations

import httpx

from switchboard.core.errors import InferenceError, ModelUnavailable

MAX_MESSAGE_CHARS = 300  # of a provider's error text, shown to the user


def scrub(text: str, secret: str) -> str:
    """`text` shortened, with the API key (if a provider echoed it) replaced by `***`."""
    if secret:
        text = text.replace(secret, "***")
    return text[:MAX_MESSAGE_CHARS]


def raise_for_provider_status(response: httpx.Response, provider: str, secret: str) -> None:
    """Raise `ModelUnavailable` (429, 5xx: retry may help) or `InferenceError` (other 4xx); nothing below 400.

    The body must have been read. `provider` names it for the user ("the chat provider").
    """
    status = response.status_code
    if status < 400:
        return
    if status == 429 or status >= 500:
        raise ModelUnavailable(f"{provider} is busy or failing ({status}): {_message(response, secret)}")
    if status in (401, 403):  # the provider's text may quote part of the key: say nothing more
        raise InferenceError(f"{provider} refused this bot's API key ({status})")
    raise InferenceError(f"{provider} refused the request ({status}): {_message(response, secret)}")


def _message(response: httpx.Response, secret: str) -> str:
    """The provider's error message (OpenAI: `{"error": {"message": ...}}`), shortened, key removed."""
    try:
        error = response.json().get("error")
        message = error.get("message") if isinstance(error, dict) else error
    except (ValueError, AttributeError):
        message = None
    return scrub(str(message) if message else response.text.strip() or response.reason_phrase, secret)
