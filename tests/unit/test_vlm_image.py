"""What a vision-language model is sent: small pictures as stored, big ones as a smaller copy that fits."""

from __future__ import annotations

import io
import os

import numpy as np
import pytest
from PIL import Image

from switchboard.inference.deployments.errors import InvalidImage
from switchboard.inference.image_headers import read_image_header
from switchboard.inference.vision_input import CheckedImage
from switchboard.inference.vlm_image import fit_for_vlm

EXIF_ORIENTATION = 0x0112
ROTATED_90_CW = 6  # "the camera was turned": the viewer must rotate the stored pixels to show it upright


def checked(picture: Image.Image, image_format: str, **save: object) -> CheckedImage:
    out = io.BytesIO()
    picture.save(out, format=image_format, **save)
    data = out.getvalue()
    return CheckedImage(data, read_image_header(data), np.zeros((1,)))


def opened(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data))


def test_a_picture_within_the_limits_goes_byte_for_byte() -> None:
    image = checked(Image.new("RGB", (800, 600), "teal"), "PNG")

    sent = fit_for_vlm(image, max_edge=1568, max_bytes=1_000_000)

    assert (sent.data, sent.media_type, sent.resized) == (image.data, "image/png", False)


def test_a_large_jpeg_is_scaled_to_the_edge_and_turned_upright() -> None:
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = ROTATED_90_CW
    image = checked(Image.new("RGB", (4000, 3000), "orange"), "JPEG", exif=exif)

    sent = fit_for_vlm(image, max_edge=1568, max_bytes=3_750_000)

    assert sent.resized and sent.media_type == "image/jpeg"
    with opened(sent.data) as picture:
        assert picture.format == "JPEG" and picture.size == (1176, 1568) == (sent.width, sent.height)
        assert picture.getexif().get(EXIF_ORIENTATION) is None


@pytest.mark.parametrize("image_format", ["PNG", "WEBP"])
def test_a_file_over_the_byte_limit_shrinks_until_it_fits_in_its_own_type(image_format: str) -> None:
    noise = Image.frombytes("RGB", (1200, 1200), os.urandom(1200 * 1200 * 3))  # incompressible
    image = checked(noise, image_format, **({"lossless": True} if image_format == "WEBP" else {}))
    limit = len(image.data) // 5

    sent = fit_for_vlm(image, max_edge=1568, max_bytes=limit)

    assert sent.resized and len(sent.data) <= limit and max(sent.width, sent.height) < 1200
    with opened(sent.data) as picture:
        assert picture.format == image_format


def test_a_picture_that_cannot_fit_is_refused_typed() -> None:
    noise = Image.frombytes("RGB", (600, 600), os.urandom(600 * 600 * 3))

    with pytest.raises(InvalidImage, match="fits the 70000 byte upload limit"):
        fit_for_vlm(checked(noise, "PNG"), max_edge=1568, max_bytes=70_000)
