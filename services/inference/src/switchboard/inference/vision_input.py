"""The image of a vision step, read from its blob and checked before any model sees it.

Every vision backend gets the same input and the same refusals: a missing or expired blob
(`sb:blob:<sha256>`) is `ImageNotFound`; a file over the byte limit, anything but a PNG, JPEG or WebP
file, an image over the pixel limit (read from the header, before decoding) or one that does not decode
is `InvalidImage` (both `inference_failed`, not retryable). Decoding to the classifier's input
(`deployments.pixels`) is what proves the file readable, so a truncated picture is refused here even by a
backend that sends the file as it is (`vlm`), never as a provider's 400 after a paid call.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from switchboard.core.blobs import SyncBlobStore
from switchboard.core.wire import AttachmentRef
from switchboard.inference.deployments.errors import ImageNotFound, InvalidImage
from switchboard.inference.deployments.pixels import decode_image
from switchboard.inference.image_headers import ImageInfo, NotAnImage, read_image_header


@dataclass(frozen=True)
class CheckedImage:
    """A stored image that passed every check: its bytes, its type and size, and the classifier's pixels."""

    data: bytes
    info: ImageInfo
    pixels: np.ndarray


class ImageReader:
    """Reads and checks the images of vision steps; `max_bytes` and `max_pixels` are the limits."""

    def __init__(self, blobs: SyncBlobStore, *, max_bytes: int, max_pixels: int) -> None:
        self._blobs = blobs
        self._max_bytes = max_bytes
        self._max_pixels = max_pixels

    def read(self, image: AttachmentRef) -> CheckedImage:
        """The checked image `image` refers to; raises `ImageNotFound` or `InvalidImage`."""
        data = self._blobs.get(image.sha256)
        if data is None:  # expired, or not what its address says
            raise ImageNotFound(image.sha256)
        info = self._check(data)
        return CheckedImage(data, info, decode_image(data, self._max_pixels))

    def _check(self, data: bytes) -> ImageInfo:
        if len(data) > self._max_bytes:
            raise InvalidImage(f"the file is {len(data)} bytes, over the {self._max_bytes} byte limit")
        try:
            info = read_image_header(data)
        except NotAnImage as exc:
            raise InvalidImage(str(exc)) from None
        if info.width * info.height > self._max_pixels:
            raise InvalidImage(f"{info.width}x{info.height} is over the {self._max_pixels} pixel limit")
        return info
