"""The vision role's input: an encoded image file turned into the classifier's 224x224 RGB pixels.

Runs where the file is (the bridge), not in the replica, so a replica receives a small fixed-size
array (150 KB) instead of a file of up to many megabytes, and a file that is not an image fails with
a clear ``InvalidImage`` before any Ray call. Pillow and numpy only; no PyTorch.

The crop follows the EfficientNet evaluation recipe: the central square of 87.5 % of the shorter
side (224 of 256), resized to 224x224 with a bicubic filter.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageOps

from switchboard.inference.deployments.errors import InvalidImage

INPUT_SIZE = 224
CROP_FRACTION = 0.875
FORMATS = ("PNG", "JPEG", "WEBP")  # the types image_headers accepts, and no other decoder


def decode_image(data: bytes, max_pixels: int) -> np.ndarray:
    """The classifier input of an encoded PNG, JPEG or WebP file: uint8, shape (224, 224, 3), RGB.

    Applies the EXIF orientation and puts transparent areas on white. Raises ``InvalidImage`` when
    the bytes are no such image, are truncated or corrupt, or hold more than ``max_pixels`` pixels
    (checked from the header, before decoding).
    """
    try:
        with Image.open(io.BytesIO(data), formats=FORMATS) as image:
            width, height = image.size
            if width * height > max_pixels:
                raise InvalidImage(f"{width}x{height} is over the {max_pixels} pixel limit")
            image.draft("RGB", (INPUT_SIZE, INPUT_SIZE))  # JPEG: decode at a reduced scale, much faster
            return np.asarray(_cropped(_rgb(ImageOps.exif_transpose(image))), dtype=np.uint8)
    except InvalidImage:
        raise
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        # UnidentifiedImageError is an OSError; truncated and corrupt data raise OSError or SyntaxError.
        raise InvalidImage(f"not a readable PNG, JPEG or WebP image ({type(exc).__name__})") from None


def _rgb(image: Image.Image) -> Image.Image:
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return image.convert("RGB")


def _cropped(image: Image.Image) -> Image.Image:
    width, height = image.size
    side = min(width, height) * CROP_FRACTION
    left, top = (width - side) / 2, (height - side) / 2
    return image.resize((INPUT_SIZE, INPUT_SIZE), Image.Resampling.BICUBIC,
                        box=(left, top, left + side, top + side), reducing_gap=3.0)
