"""Attachment checks: bytes must be what their type says; size and pixel limits hold."""

from __future__ import annotations

import pytest

from switchboard.gateway.attachments import AttachmentIntake, AttachmentLimits, Skipped, check_bytes, skipped_notice


@pytest.mark.parametrize(("data", "content_type", "ok"), [
    (b"\x89PNG\r\n\x1a\n....", "image/png", True),
    (b"GIF89a....", "image/gif", True),
    (b"\xff\xd8\xff\xe0", "image/jpeg", True),
    (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp", True),
    (b"RIFF\x00\x00\x00\x00WAVEfmt ", "image/webp", False),
    (b"<svg/>", "image/png", False),
])
def test_image_signatures(data: bytes, content_type: str, ok: bool) -> None:
    assert (check_bytes(data, "image", content_type) is None) == ok


def test_text_must_be_utf8() -> None:
    assert check_bytes("héllo".encode(), "text", "text/plain") is None
    assert check_bytes(b"\xff\xfe\x00bad", "text", "text/plain") == "is not UTF-8 text"


def test_byte_limits_per_media() -> None:
    intake = AttachmentIntake(blobs=None, limits=AttachmentLimits(max_image_bytes=100, max_text_bytes=10))  # type: ignore[arg-type]
    assert intake.size_problem(100, "image") is None
    assert "limit" in intake.size_problem(11, "text")  # type: ignore[operator]


def test_notice_lists_each_skipped_file() -> None:
    notice = skipped_notice([Skipped("a.exe", "application/octet-stream files are not supported")])
    assert notice.startswith("📎") and "`a.exe`" in notice
