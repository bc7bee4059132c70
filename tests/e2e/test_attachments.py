"""Files on a message: readable ones become blobs the planner reads; bad ones get one clear notice."""

from __future__ import annotations

import base64
import struct
import zlib

import redis

from switchboard.core import keys
from switchboard.core.wire import ActivationRecord
from switchboard.emulator.client import EmulatorClient
from tests.e2e.test_walking_skeleton import bot_messages_replying_to, wait_for_posted_reply


def png(width: int, height: int) -> bytes:
    """A real (grey) PNG image."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def file(filename: str, data: bytes, content_type: str, **extra: int) -> dict:
    return {"filename": filename, "data": base64.b64encode(data).decode(), "content_type": content_type, **extra}


def test_text_and_image_files_reach_the_planner_and_bad_files_get_one_notice(
        emulator: EmulatorClient, store: redis.Redis, store_bytes: redis.Redis) -> None:
    notes = b"The secret code is 4242."
    asked = emulator.inject_message("What is in my file?", channel_id="general", author="alice", mention_bot=True,
                                    attachments=[
                                        file("notes.txt", notes, "text/plain; charset=utf-8"),
                                        file("pixel.png", png(4, 3), "image/png", width=4, height=3),
                                        file("fake.png", b"this is not an image", "image/png", width=1, height=1),
                                        file("tool.exe", b"MZ\x90\x00", "application/octet-stream"),
                                    ])
    wait_for_posted_reply(store, emulator, asked["id"])
    record = ActivationRecord.from_json(store.get(keys.record(asked["id"])))
    taken = {ref.filename: ref for ref in record.activation.attachments}
    assert set(taken) == {"notes.txt", "pixel.png"}
    assert (taken["pixel.png"].media, taken["pixel.png"].width, taken["pixel.png"].height) == ("image", 4, 3)
    assert store_bytes.get(keys.blob(taken["notes.txt"].sha256)) == notes
    notices = [m for m in bot_messages_replying_to(emulator, asked["id"]) if m["content"].startswith("📎")]
    assert len(notices) == 1
    assert "fake.png" in notices[0]["content"] and "tool.exe" in notices[0]["content"]
    assert "notes.txt" not in notices[0]["content"]
