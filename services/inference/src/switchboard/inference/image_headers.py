"""Image type and pixel size from the first bytes of a PNG, JPEG or WebP file, without an image library.

`read_image_header` trusts nothing: the signature must match, the header must be complete, and the
size must be positive, or it raises `NotAnImage` saying what was wrong. It reads headers only; it does
not prove the rest of the file decodes.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_SIGNATURE = b"\xff\xd8\xff"
# Start-of-frame markers carry the size; C4 (huffman table), C8 (reserved) and CC (arithmetic table) do not.
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
# Markers without a length field: TEM and the restart markers.
_JPEG_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})
_JPEG_END = frozenset({0xD9, 0xDA})  # end of image, start of scan: no frame header after these


class NotAnImage(ValueError):
    """The bytes are not a PNG, JPEG or WebP image with a readable size."""


@dataclass(frozen=True)
class ImageInfo:
    content_type: str
    width: int
    height: int

    @property
    def extension(self) -> str:
        return {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}[self.content_type]


def read_image_header(data: bytes) -> ImageInfo:
    """The type and size of a PNG, JPEG or WebP image; raises `NotAnImage` for anything else."""
    if data.startswith(PNG_SIGNATURE):
        width, height = _png_size(data)
        return _checked("image/png", width, height)
    if data.startswith(JPEG_SIGNATURE):
        width, height = _jpeg_size(data)
        return _checked("image/jpeg", width, height)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        width, height = _webp_size(data)
        return _checked("image/webp", width, height)
    raise NotAnImage("not a PNG, JPEG or WebP file")


def _checked(content_type: str, width: int, height: int) -> ImageInfo:
    if width <= 0 or height <= 0:
        raise NotAnImage(f"{content_type} header gives an empty size {width}x{height}")
    return ImageInfo(content_type, width, height)


def _png_size(data: bytes) -> tuple[int, int]:
    # The IHDR chunk comes first: length (4), type (4), width (4), height (4).
    if len(data) < 24 or data[12:16] != b"IHDR":
        raise NotAnImage("PNG without an IHDR header")
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def _jpeg_size(data: bytes) -> tuple[int, int]:
    """Walk the marker segments up to the first start-of-frame, which holds height then width."""
    at = 2
    while at + 1 < len(data):
        if data[at] != 0xFF:
            raise NotAnImage(f"JPEG marker expected at byte {at}")
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte before a marker
            at += 1
            continue
        if marker in _JPEG_STANDALONE:
            at += 2
            continue
        if marker in _JPEG_END or at + 4 > len(data):
            break
        (length,) = struct.unpack(">H", data[at + 2:at + 4])
        if marker in _JPEG_SOF:
            if at + 9 > len(data):
                break
            height, width = struct.unpack(">HH", data[at + 5:at + 9])
            return width, height
        if length < 2:
            raise NotAnImage(f"JPEG segment with length {length} at byte {at}")
        at += 2 + length
    raise NotAnImage("JPEG without a frame header")


def _webp_size(data: bytes) -> tuple[int, int]:
    """The first chunk after `RIFF....WEBP` says which of the three WebP flavours this is."""
    chunk = data[12:16]
    if chunk == b"VP8 " and len(data) >= 30:  # lossy: frame tag (3), start code 9d 01 2a, 14-bit sizes
        if data[23:26] != b"\x9d\x01\x2a":
            raise NotAnImage("WebP VP8 frame without its start code")
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L" and len(data) >= 25:  # lossless: signature 0x2f, then width-1 and height-1 in 14 bits each
        if data[20] != 0x2F:
            raise NotAnImage("WebP VP8L stream without its signature")
        (bits,) = struct.unpack("<I", data[21:25])
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X" and len(data) >= 30:  # extended: flags (4), canvas width-1 and height-1 in 24 bits each
        return int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1
    raise NotAnImage("WebP without a readable VP8, VP8L or VP8X header")
