"""Image headers: type and pixel size of PNG, JPEG and WebP files from their first bytes; anything else refused."""

from __future__ import annotations

import struct

import pytest

from switchboard.inference.image_headers import ImageInfo, NotAnImage, read_image_header
from tests.support.fake_images_api import png


def segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def jpeg(width: int, height: int, sof: int = 0xC0, before_frame: bytes = b"") -> bytes:
    app0 = segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
    frame = segment(sof, struct.pack(">BHHB", 8, height, width, 1) + b"\x01\x11\x00")
    return b"\xff\xd8" + app0 + before_frame + frame + segment(0xDA, b"\x01\x01\x00\x00\x3f\x00") + b"\xff\xd9"


def riff(chunk: bytes, payload: bytes) -> bytes:
    body = b"WEBP" + chunk + struct.pack("<I", len(payload)) + payload
    return b"RIFF" + struct.pack("<I", len(body)) + body


def webp_lossy(width: int, height: int) -> bytes:
    return riff(b"VP8 ", b"\x30\x01\x00" + b"\x9d\x01\x2a" + struct.pack("<HH", width, height) + b"\x00" * 8)


def webp_lossless(width: int, height: int) -> bytes:
    bits = (width - 1) | ((height - 1) << 14)
    return riff(b"VP8L", b"\x2f" + struct.pack("<I", bits) + b"\x00" * 4)


def webp_extended(width: int, height: int) -> bytes:
    return riff(b"VP8X", b"\x10\x00\x00\x00" + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little"))


@pytest.mark.parametrize(("data", "expected"), [
    (png(3, 2), ImageInfo("image/png", 3, 2)),
    (png(1024, 768), ImageInfo("image/png", 1024, 768)),
    (jpeg(640, 480), ImageInfo("image/jpeg", 640, 480)),
    (jpeg(17, 9, sof=0xC2), ImageInfo("image/jpeg", 17, 9)),  # progressive
    # A huffman table (C4, not a frame header) and fill bytes before the frame.
    (jpeg(300, 200, before_frame=segment(0xC4, b"\x00" * 20) + b"\xff\xff"), ImageInfo("image/jpeg", 300, 200)),
    (webp_lossy(512, 256), ImageInfo("image/webp", 512, 256)),
    (webp_lossless(16383, 1), ImageInfo("image/webp", 16383, 1)),
    (webp_extended(2048, 1536), ImageInfo("image/webp", 2048, 1536)),
])
def test_reads_type_and_size(data: bytes, expected: ImageInfo) -> None:
    assert read_image_header(data) == expected


def test_extension_follows_the_type() -> None:
    assert [read_image_header(d).extension for d in (png(1, 1), jpeg(1, 1), webp_lossy(1, 1))] == ["png", "jpg", "webp"]


@pytest.mark.parametrize(("data", "says"), [
    (b"", "not a PNG, JPEG or WebP"),
    (b"GIF89a\x01\x00\x01\x00\x00\x00\x00,", "not a PNG, JPEG or WebP"),
    (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "not a PNG, JPEG or WebP"),
    (b"RIFF\x00\x00\x00\x00WAVEfmt ", "not a PNG, JPEG or WebP"),
    (png(4, 4)[:20], "IHDR"),  # truncated inside the header
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 16, "IHDR"),
    (png(0, 4), "empty size 0x4"),
    (b"\xff\xd8\xff", "frame header"),
    (jpeg(8, 8)[:27], "frame header"),  # cut inside the frame segment (2 + 18 bytes of APP0 + 7)
    (b"\xff\xd8" + segment(0xDA, b"\x00" * 6) + segment(0xC0, struct.pack(">BHHB", 8, 8, 8, 1)), "frame header"),
    (b"\xff\xd8\xff\xe0\x00\x01", "length 1"),
    (b"\xff\xd8" + segment(0xE0, b"\x00\x00") + b"\x12\x34\x56\x78", "marker expected at byte 8"),
    (jpeg(0, 8), "empty size"),
    (riff(b"VP8 ", b"\x30\x01\x00\x00\x00\x00" + b"\x00" * 10), "start code"),
    (riff(b"VP8L", b"\x00" + b"\x00" * 8), "signature"),
    (riff(b"ALPH", b"\x00" * 16), "VP8, VP8L or VP8X"),
    (riff(b"VP8X", b"\x00" * 4), "VP8, VP8L or VP8X"),  # truncated
])
def test_refuses_what_is_not_a_readable_image(data: bytes, says: str) -> None:
    with pytest.raises(NotAnImage, match=says):
        read_image_header(data)


def test_not_an_image_is_a_value_error() -> None:
    assert issubclass(NotAnImage, ValueError)
