"""Images in a chat request (`"images"` on a user message) mapped into each hosted API's request format, and
refused alike by every driver where no API would take them; the local engines' parser drops them."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import SecretStr

from switchboard.core.errors import InferenceError
from switchboard.inference.deployments.protocol import parse_chat_request
from switchboard.inference.providers.anthropic_request import anthropic_body
from switchboard.inference.providers.gemini_request import gemini_body
from switchboard.inference.providers.image_parts import ImagePart, message_images
from switchboard.inference.providers.openai_chat import OpenAIChat, openai_message

PNG = {"media_type": "image/png", "data": "iVBORw0KGgo="}
JPEG = {"media_type": "image/jpeg", "data": "/9j/4AAQ"}


def looking(*images: dict[str, str], text: str = "What is this?", **extra: Any) -> dict[str, Any]:
    return {"role": "user", "content": text, "images": list(images), **extra}


def request(*messages: dict[str, Any]) -> dict[str, Any]:
    return {"messages": list(messages), "max_tokens": 32, "temperature": 0.0}


def openai_body(body: dict[str, Any]) -> dict[str, Any]:
    driver = OpenAIChat("http://127.0.0.1:9", "gpt-test", SecretStr("k"), 1.0)
    try:
        return driver._body(body)  # the request as sent, without sending it
    finally:
        driver.close()


def test_openai_gets_text_then_image_url_parts_with_data_urls() -> None:
    assert openai_message(looking(PNG, JPEG)) == {"role": "user", "content": [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
        {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/4AAQ"}}]}
    assert openai_message(looking(PNG, text="")) == {"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}]}
    # No images, or an empty list: the content stays a plain string, as before.
    assert openai_message(looking()) == {"role": "user", "content": "What is this?"}
    assert openai_message({"role": "user", "content": "hi"}) == {"role": "user", "content": "hi"}


def test_anthropic_gets_base64_image_blocks_before_the_text() -> None:
    body = anthropic_body(request({"role": "system", "content": "Be brief."}, looking(PNG)), "claude-test")

    assert body["system"] == "Be brief."
    assert body["messages"] == [{"role": "user", "content": [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
        {"type": "text", "text": "What is this?"}]}]


def test_anthropic_keeps_tool_results_first_in_a_turn_that_also_has_an_image() -> None:
    body = anthropic_body(request(
        {"role": "user", "content": "time?"},
        {"role": "assistant", "content": "", "tool_calls": [{"id": "c1", "name": "now", "arguments": {}}]},
        {"role": "tool", "content": "12:00", "tool_call_id": "c1"},
        looking(JPEG, text="and this?")), "claude-test")

    assert [block["type"] for block in body["messages"][2]["content"]] == ["tool_result", "image", "text"]


def test_gemini_gets_inline_data_parts_before_the_text() -> None:
    body = gemini_body(request(looking(PNG, JPEG)))

    assert body["contents"] == [{"role": "user", "parts": [
        {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}},
        {"inlineData": {"mimeType": "image/jpeg", "data": "/9j/4AAQ"}},
        {"text": "What is this?"}]}]
    assert gemini_body(request(looking(PNG, text="")))["contents"] == [
        {"role": "user", "parts": [{"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}}]}]


BUILDERS = {"openai": openai_body, "anthropic": lambda body: anthropic_body(body, "m"), "gemini": gemini_body}


@pytest.mark.parametrize("provider", BUILDERS)
@pytest.mark.parametrize(("message", "says"), [
    ({"role": "assistant", "content": "here", "images": [PNG]}, "only user messages can carry images"),
    ({"role": "system", "content": "look", "images": [PNG]}, "only user messages can carry images"),
    (looking({"media_type": "image/gif", "data": "R0lGODlh"}), "media type 'image/gif' is not one of"),
    (looking({"media_type": "image/png", "data": ""}), "data must be non-empty base64 text"),
    (looking("iVBORw0KGgo="), "must be an object with media_type and data"),  # type: ignore[arg-type]
])
def test_every_driver_refuses_images_no_api_would_take_before_sending(provider: str, message: dict[str, Any],
                                                                      says: str) -> None:
    with pytest.raises(InferenceError, match=says) as refused:
        BUILDERS[provider](request({"role": "user", "content": "hi"}, message))
    assert not refused.value.retryable


def test_message_images_reads_media_type_and_data_in_order() -> None:
    assert message_images(looking(PNG, JPEG)) == (ImagePart("image/png", "iVBORw0KGgo="),
                                                  ImagePart("image/jpeg", "/9j/4AAQ"))
    assert message_images({"role": "assistant", "content": "x"}) == ()
    assert ImagePart("image/webp", "UklGRg==").data_url == "data:image/webp;base64,UklGRg=="


def test_the_local_engines_accept_images_and_drop_them() -> None:
    parsed = parse_chat_request(request({"role": "system", "content": "Be brief."}, looking(PNG)))

    assert parsed.messages == ({"role": "system", "content": "Be brief."}, {"role": "user", "content": "What is this?"})
