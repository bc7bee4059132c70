"""The picture a vision-language model is sent: the stored file when it is small enough, else a smaller copy.

Hosted models scale big pictures down on their side (Claude to about 1568 px on the long edge, OpenAI's
high detail to 2048 then 768 on the short edge) and cap an upload (Anthropic: 5 MB per image, which base64
reaches from 3.75 MB). A 6000x4000 photo sent as it is costs upload time and input tokens for detail the
model throws away, or a refusal. So an image whose long edge is over `max_edge`, or whose file is over
`max_bytes`, is resized (aspect kept, Lanczos) and re-encoded in its own type; if the copy is still over
`max_bytes` (a noisy PNG), the edge shrinks by a quarter at a time. Anything smaller goes byte for byte.

A resized JPEG is turned upright first (its EXIF orientation), since re-encoding drops the tag that said how.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, ImageOps

from switchboard.inference.deployments.errors import InvalidImage
from switchboard.inference.vision_input import CheckedImage

_SAVE = {"image/jpeg": ("JPEG", {"quality": 90}), "image/png": ("PNG", {"optimize": True}),
         "image/webp": ("WEBP", {"quality": 90})}
_SHRINK = 0.75
_SMALLEST_EDGE = 256  # below this a picture says too little to be worth sending


@dataclass(frozen=True)
class VlmImage:
    data: bytes
    media_type: str
    width: int
    height: int
    resized: bool


def fit_for_vlm(image: CheckedImage, *, max_edge: int, max_bytes: int) -> VlmImage:
    """`image` as it should be sent; raises `InvalidImage` if no copy down to 256 px fits in `max_bytes`."""
    info = image.info
    if max(info.width, info.height) <= max_edge and len(image.data) <= max_bytes:
        return VlmImage(image.data, info.content_type, info.width, info.height, resized=False)
    with Image.open(io.BytesIO(image.data)) as opened:
        picture = ImageOps.exif_transpose(opened) if info.content_type == "image/jpeg" else opened.copy()
    edge = min(max_edge, max(picture.size))
    while edge >= _SMALLEST_EDGE:
        copy = _resized(picture, edge)
        data = _encoded(copy, info.content_type)
        if len(data) <= max_bytes:
            return VlmImage(data, info.content_type, copy.width, copy.height, resized=True)
        edge = int(edge * _SHRINK)
    raise InvalidImage(f"no copy of this {info.width}x{info.height} image fits the {max_bytes} byte upload limit")


def _resized(picture: Image.Image, edge: int) -> Image.Image:
    scale = edge / max(picture.size)
    if scale >= 1:
        return picture
    size = (max(1, round(picture.width * scale)), max(1, round(picture.height * scale)))
    return picture.resize(size, Image.Resampling.LANCZOS)


def _encoded(picture: Image.Image, media_type: str) -> bytes:
    image_format, options = _SAVE[media_type]
    if image_format == "JPEG" and picture.mode not in ("RGB", "L", "CMYK"):
        picture = picture.convert("RGB")
    out = io.BytesIO()
    picture.save(out, format=image_format, **options)
    return out.getvalue()
