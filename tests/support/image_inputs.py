"""What the chat API fakes share about images in a prompt: decoding the base64 they arrive in, telling the
image type from the bytes (as the real APIs do, whatever the request says), and a record of what came.

The fakes refuse what their API refuses: text that is not base64, and bytes that are no image the API
reads. `ReceivedImage` is what a test compares with the file it stored (`sha256`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

SIGNATURES = ((b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"), (b"GIF87a", "image/gif"),
              (b"GIF89a", "image/gif"))


@dataclass(frozen=True)
class ReceivedImage:
    """One image a fake accepted: the media type the request declared, and the decoded bytes."""

    media_type: str
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def decode_base64(text: object, url_safe_too: bool = False) -> bytes | None:
    """The bytes of standard base64 `text` (also the URL-safe alphabet with `url_safe_too`); None if it is not."""
    if not isinstance(text, str) or not text:
        return None
    if url_safe_too:
        text = text.replace("-", "+").replace("_", "/")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def sniffed_type(data: bytes) -> str | None:
    """The image type the bytes are, by their signature; None when they are no PNG, JPEG, GIF or WebP."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return next((media_type for signature, media_type in SIGNATURES if data.startswith(signature)), None)
