"""The images a protocol message carries, read the same way for every hosted driver.

A `user` message may carry `"images": [{"media_type": "image/png", "data": "<base64>"}]` (see
`deployments.protocol`); each driver writes them in its API's own format (an OpenAI `image_url` part with
a data URL, an Anthropic `image` block, a Gemini `inlineData` part). What every driver must refuse is
refused here, before anything is sent, so the three refuse alike: images on another role's message (no
API takes an image from the assistant or the system prompt), and media types outside PNG, JPEG and WebP,
the types all three APIs accept (GIF is not Gemini's, HEIC not OpenAI's or Anthropic's). The base64 text
itself is the sender's to get right; a provider refuses bad data with a 400, which is `InferenceError`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from switchboard.core.errors import InferenceError

MEDIA_TYPES: frozenset[str] = frozenset({"image/png", "image/jpeg", "image/webp"})


@dataclass(frozen=True)
class ImagePart:
    """One image of a message: its media type and its bytes as standard base64 text."""

    media_type: str
    data: str

    @property
    def data_url(self) -> str:
        """The image as an RFC 2397 data URL, as OpenAI's `image_url` takes it."""
        return f"data:{self.media_type};base64,{self.data}"


def message_images(message: Mapping[str, Any]) -> tuple[ImagePart, ...]:
    """The images of one protocol message, in order; raises `InferenceError` for images a driver cannot send."""
    images = message.get("images") or ()
    if not images:
        return ()
    if message.get("role") != "user":
        raise InferenceError(f"only user messages can carry images, not a {message.get('role')} message")
    return tuple(_image(index, image) for index, image in enumerate(images))


def check_images(messages: Iterable[Mapping[str, Any]]) -> None:
    """Refuse (`InferenceError`) a request with images a driver cannot send, on whichever message they are:
    a driver that maps only user turns, or lifts the system prompt out, would otherwise drop them unseen."""
    for message in messages:
        message_images(message)


def _image(index: int, image: Any) -> ImagePart:
    if not isinstance(image, Mapping):
        raise InferenceError(f"images[{index}] must be an object with media_type and data")
    media_type, data = image.get("media_type"), image.get("data")
    if media_type not in MEDIA_TYPES:
        raise InferenceError(f"images[{index}]: media type {media_type!r} is not one of "
                             f"{', '.join(sorted(MEDIA_TYPES))}")
    if not isinstance(data, str) or not data:
        raise InferenceError(f"images[{index}]: data must be non-empty base64 text")
    return ImagePart(media_type, data)
