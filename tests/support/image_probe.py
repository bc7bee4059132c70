"""`python -m tests.support.image_probe <redis url> <sha256>`: read one stored image the way a vision step
does (`ImageReader` with the inference service's default limits) in a fresh process, and print what happened
as JSON: the outcome, the typed error, the seconds it took and how far the process's peak memory rose.

A process of its own, because a process's peak memory only ever grows: measured inside a test run it would
say more about earlier tests than about this image. The baseline is taken after imports and after reading one
small picture, so what is measured is the work on this image alone.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from switchboard.core.blobs import SyncBlobStore
from switchboard.core.errors import SwitchboardError
from switchboard.core.redis_client import connect_sync
from switchboard.core.wire import AttachmentRef
from switchboard.inference.settings import InferenceSettings
from switchboard.inference.vision_input import ImageReader
from tests.support.hostile_images import drawn


def peak_rss_bytes() -> int:
    """This process's peak resident memory (`VmHWM`). Not `ru_maxrss`: Linux carries that over from the parent
    through fork and exec, so a child of a large test process would start with the parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def reference(sha256: str) -> AttachmentRef:
    return AttachmentRef(filename="upload", content_type="image/png", size=0, sha256=sha256, media="image")


def main(redis_url: str, sha256: str) -> dict[str, object]:
    settings = InferenceSettings(redis_url=redis_url, chat_backend="openai")
    blobs = SyncBlobStore(connect_sync(settings, decode_responses=False), settings.image_retention_s)
    reader = ImageReader(blobs, max_bytes=settings.vision_max_image_bytes, max_pixels=settings.vision_max_pixels)
    reader.read(reference(blobs.put(drawn("PNG", 64, 48))))  # warm: every import and lazy set-up done
    baseline = peak_rss_bytes()
    started = time.perf_counter()
    try:
        checked = reader.read(reference(sha256))
        outcome: dict[str, object] = {"outcome": "accepted", "size": [checked.info.width, checked.info.height]}
    except SwitchboardError as error:
        outcome = {"outcome": "refused", "error": type(error).__name__, "code": error.code, "message": str(error)}
    except Exception as error:  # what the test is there to catch: anything untyped
        outcome = {"outcome": "untyped", "error": type(error).__name__, "message": str(error)}
    return {**outcome, "seconds": time.perf_counter() - started, "peak_growth_bytes": peak_rss_bytes() - baseline}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2])))
