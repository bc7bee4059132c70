"""Files on the triggering message (and on the message it replies to) become blobs the planner reads.

Only images (PNG, JPEG, GIF, WebP) and UTF-8 text are taken, within size and pixel limits, and only if
their bytes are what their type says (an image must start with its format's signature). Anything else
is skipped with a reason the user is told; a bad file never fails the activation.
"""

from __future__ import annotations

from dataclasses import dataclass

import discord

from switchboard.core.blobs import BlobStore
from switchboard.core.wire import AttachmentRef

IMAGE_SIGNATURES: dict[str, tuple[bytes, ...]] = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "image/webp": (b"RIFF",),
}
TEXT_TYPES = ("text/", "application/json")


@dataclass(frozen=True)
class AttachmentLimits:
    max_files: int = 4
    max_image_bytes: int = 8 * 2**20
    max_text_bytes: int = 512 * 2**10
    max_pixels: int = 40_000_000


@dataclass(frozen=True)
class Skipped:
    filename: str
    reason: str


class AttachmentIntake:
    def __init__(self, blobs: BlobStore, limits: AttachmentLimits | None = None) -> None:
        self._blobs = blobs
        self._limits = limits or AttachmentLimits()

    async def take(self, message: discord.Message) -> tuple[list[AttachmentRef], list[Skipped]]:
        """The usable files of a message and its replied-to message, and the skipped ones with reasons."""
        replied = message.reference.resolved if message.reference else None
        files = [(a, False) for a in message.attachments]
        if isinstance(replied, discord.Message):
            files += [(a, True) for a in replied.attachments]
        taken: list[AttachmentRef] = []
        skipped = [Skipped(a.filename, f"only {self._limits.max_files} files are read per message")
                   for a, _ in files[self._limits.max_files:]]
        for attachment, from_reply in files[: self._limits.max_files]:
            result = await self._take_one(attachment, from_reply)
            (taken if isinstance(result, AttachmentRef) else skipped).append(result)  # type: ignore[arg-type]
        return taken, skipped

    async def _take_one(self, attachment: discord.Attachment, from_reply: bool) -> AttachmentRef | Skipped:
        content_type = (attachment.content_type or "").split(";")[0].strip().lower()
        media = "image" if content_type in IMAGE_SIGNATURES else "text" if content_type.startswith(TEXT_TYPES) else None
        if media is None:
            return Skipped(attachment.filename, f"{content_type or 'unknown'} files are not supported")
        if problem := self._too_big(attachment, media):
            return Skipped(attachment.filename, problem)
        try:
            data = await attachment.read()
        except (discord.HTTPException, discord.NotFound) as exc:
            return Skipped(attachment.filename, f"could not be downloaded ({exc.status})")
        if problem := check_bytes(data, media, content_type) or self.size_problem(len(data), media):
            return Skipped(attachment.filename, problem)
        blob = await self._blobs.put(data, content_type)
        return AttachmentRef(filename=attachment.filename, content_type=content_type, size=len(data),
                             sha256=blob.sha256, media=media, width=attachment.width, height=attachment.height,
                             from_reply=from_reply)

    def _too_big(self, attachment: discord.Attachment, media: str) -> str | None:
        if attachment.width and attachment.height and attachment.width * attachment.height > self._limits.max_pixels:
            return f"{attachment.width}×{attachment.height} is more than {self._limits.max_pixels:,} pixels"
        return self.size_problem(attachment.size, media)

    def size_problem(self, size: int, media: str) -> str | None:
        limit = self._limits.max_image_bytes if media == "image" else self._limits.max_text_bytes
        return f"{_mib(size)} is over the {_mib(limit)} limit" if size > limit else None


def check_bytes(data: bytes, media: str, content_type: str) -> str | None:
    if media == "image":
        signatures = IMAGE_SIGNATURES[content_type]
        webp_ok = content_type != "image/webp" or data[8:12] == b"WEBP"
        return None if data.startswith(signatures) and webp_ok else f"is not a valid {content_type} file"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return "is not UTF-8 text"
    return None


def skipped_notice(skipped: list[Skipped]) -> str:
    lines = [f"• `{s.filename}`: {s.reason}" for s in skipped[:10]]
    return "📎 I couldn't read some files, so I answered without them:\n" + "\n".join(lines)


def _mib(size: int) -> str:
    return f"{size / 2**20:.1f} MiB" if size >= 2**20 else f"{size / 2**10:.0f} KiB"
