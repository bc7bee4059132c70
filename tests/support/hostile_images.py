"""Image files built to hurt a reader: huge pixel counts in small files, compressed streams that expand a
thousandfold, truncated pictures, and plain garbage behind an image signature.

Built byte by byte (PNG chunks, JPEG segments, WebP headers), streaming the compression so that making a
file never costs what decoding it would. Pillow is used only to draw the honest pictures that get truncated.
"""

from __future__ import annotations

import io
import os
import struct
import zlib
from collections.abc import Iterable

from PIL import Image

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
GREY, RGB = 0, 2  # PNG colour types


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def ihdr(width: int, height: int, bit_depth: int = 8, colour: int = GREY) -> bytes:
    return chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, bit_depth, colour, 0, 0, 0))


def deflated(pieces: Iterable[bytes]) -> bytes:
    """`pieces` compressed as one zlib stream, without ever holding them all."""
    compressor = zlib.compressobj(9)
    return b"".join(compressor.compress(piece) for piece in pieces) + compressor.flush()


def png(width: int, height: int, bit_depth: int = 8, colour: int = GREY, extra: bytes = b"") -> bytes:
    """A complete, honest PNG of black pixels (any size: the rows are compressed as they are made);
    `extra` chunks go between the header and the pixels."""
    row = b"\x00" * (1 + -(-width * bit_depth * (3 if colour == RGB else 1) // 8))
    pixels = deflated(row for _ in range(height))
    return PNG_SIGNATURE + ihdr(width, height, bit_depth, colour) + extra + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def png_claiming(width: int, height: int) -> bytes:
    """A small PNG whose header claims `width` x `height`, with a few rows of pixels after it."""
    return PNG_SIGNATURE + ihdr(width, height) + chunk(b"IDAT", deflated([b"\x00" * 4096])) + chunk(b"IEND", b"")


def jpeg_claiming(width: int, height: int) -> bytes:
    """A JPEG start-of-frame (baseline, 3 components) claiming `width` x `height`, and nothing to decode."""
    components = b"".join(bytes([n, 0x11, 0]) for n in (1, 2, 3))
    frame = struct.pack(">BHHB", 8, height, width, 3) + components
    return b"\xff\xd8" + b"\xff\xc0" + struct.pack(">H", 2 + len(frame)) + frame + b"\xff\xd9"


def webp_claiming(width: int, height: int) -> bytes:
    """An extended WebP (VP8X) whose canvas claims `width` x `height`."""
    vp8x = b"\x00\x00\x00\x00" + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    body = b"WEBP" + b"VP8X" + struct.pack("<I", len(vp8x)) + vp8x
    return b"RIFF" + struct.pack("<I", len(body)) + body


def text_chunk_bomb(expands_to: int = 64 * 2**20) -> bytes:
    """A small valid PNG carrying a compressed text chunk (zTXt) that expands to `expands_to` bytes."""
    megabyte = b"A" * 2**20
    text = b"Comment\x00\x00" + deflated(megabyte for _ in range(expands_to // 2**20))
    return png(64, 64, extra=chunk(b"zTXt", text))


def colour_profile_bomb(expands_to: int = 64 * 2**20) -> bytes:
    """A small valid PNG whose embedded colour profile (iCCP) expands to `expands_to` bytes."""
    megabyte = b"\x00" * 2**20
    profile = b"icc\x00\x00" + deflated(megabyte for _ in range(expands_to // 2**20))
    return png(64, 64, extra=chunk(b"iCCP", profile))


def garbage_behind_a_header(size: int, width: int = 2000, height: int = 1500) -> bytes:
    """`size` bytes: a PNG header for a picture of reasonable size, then random bytes where the pixels go."""
    head = PNG_SIGNATURE + ihdr(width, height)
    noise = os.urandom(size - len(head) - 24)
    return head + struct.pack(">I", len(noise)) + b"IDAT" + noise + b"\x00" * 4 + chunk(b"IEND", b"")


def drawn(image_format: str, width: int = 640, height: int = 480) -> bytes:
    """An honest picture (a gradient) in `image_format` ("PNG", "JPEG", "WEBP")."""
    picture = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    out = io.BytesIO()
    picture.save(out, format=image_format)
    return out.getvalue()


def truncated(data: bytes, keep: float = 0.5) -> bytes:
    """The first part of a file, as an interrupted upload leaves it."""
    return data[: int(len(data) * keep)]
