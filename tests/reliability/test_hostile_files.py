"""Hostile files are refused with a typed error within 2 s and with bounded memory, where each is refused:

- the gateway's attachment intake (real discord.py on the Discord emulator) refuses a 50-megapixel image, a
  20 MiB image or text file and a decompression bomb from what Discord says about them (size, dimensions),
  before downloading a byte: nothing is allocated for them and no blob is stored;
- the vision input check (`ImageReader`, what every vision step runs first) refuses what gets past the gateway
  or comes from elsewhere: images whose header claims 50 megapixels or more (PNG, JPEG, WebP), an honest
  compressed bomb (400 megapixels in 160 KB), compressed chunks that expand a thousandfold (text, colour
  profile), 20 MiB of garbage, and truncated PNG, JPEG and WebP pictures. Each runs in a fresh process that
  reports its time and how far its peak memory rose (`tests/support/image_probe.py`).

The truncated-image cases of `tests/unit/test_vision_model.py` and `tests/integration/test_vision.py` check
the messages; here the point is the time and memory bound.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import tracemalloc
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import pytest_asyncio
import redis
import redis.asyncio as aioredis

from switchboard.core import keys
from switchboard.core.blobs import BlobStore, SyncBlobStore
from switchboard.devstack.redis_server import RedisServer
from switchboard.emulator import Emulator
from switchboard.gateway.attachments import AttachmentIntake, Skipped
from tests.support import hostile_images as hostile
from tests.support.discord_bot import BotHarness, point_discord_py_at, running_bot

WITHIN_S = 2.0  # the stated bound on refusing a hostile file
ROOT = Path(__file__).resolve().parents[2]
MIB = 2**20


def memory_bound(file_size: int) -> int:
    """Peak memory a refusal may take: reading the stored file (about three times its size: the Redis reply
    buffer, the bytes, their hash check) and 32 MiB of headroom. Decoding the pictures that claim 50 megapixels
    or more would take 150 MB to 1.2 GB."""
    return 3 * file_size + 32 * MIB


# -- the gateway ----------------------------------------------------------------------------------------


@pytest_asyncio.fixture
async def harness(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[Emulator, BotHarness]]:
    async with Emulator() as emulator:
        point_discord_py_at(monkeypatch, emulator.url)
        async with running_bot(emulator.config.token) as bot:
            yield emulator, bot


GATEWAY_CASES = {
    # name: (content type, bytes, dimensions Discord reports, what the notice says)
    "fifty-megapixels.png": ("image/png", lambda: hostile.png_claiming(10_000, 5_000), (10_000, 5_000), "pixels"),
    "bomb.png": ("image/png", lambda: hostile.png(20_000, 20_000, bit_depth=1), (20_000, 20_000), "pixels"),
    "twenty-mib.png": ("image/png", lambda: hostile.garbage_behind_a_header(20 * MIB), (2_000, 1_500), "limit"),
    "twenty-mib.txt": ("text/plain", lambda: b"a" * (20 * MIB), None, "limit"),
}


@pytest.mark.parametrize("filename", GATEWAY_CASES)
async def test_the_gateway_refuses_without_downloading(harness: tuple[Emulator, BotHarness], redis_url: str,
                                                       filename: str) -> None:
    emulator, bot = harness
    content_type, make, size, says = GATEWAY_CASES[filename]
    data = make()
    spec: dict[str, object] = {"filename": filename, "data": data, "content_type": content_type}
    if size:
        spec |= {"width": size[0], "height": size[1]}
    emulator.inject_message("look at this", attachments=[spec])
    message = await bot.next_message()
    blobs = aioredis.Redis.from_url(redis_url)
    intake = AttachmentIntake(BlobStore(blobs, 60))

    tracemalloc.start()
    started = time.perf_counter()
    taken, skipped = await intake.take(message)
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    assert taken == [] and [s.filename for s in skipped] == [filename]
    assert isinstance(skipped[0], Skipped) and says in skipped[0].reason
    assert seconds < WITHIN_S
    assert peak < MIB, f"{peak / MIB:.1f} MiB allocated: the {len(data) / MIB:.1f} MiB file was downloaded"
    assert await blobs.keys(keys.blob("*")) == []
    await blobs.aclose()


# -- the vision input check ------------------------------------------------------------------------------


VISION_CASES: dict[str, Callable[[], bytes]] = {
    "png claiming 50 megapixels": lambda: hostile.png_claiming(10_000, 5_000),
    "jpeg claiming 50 megapixels": lambda: hostile.jpeg_claiming(10_000, 5_000),
    "webp claiming 16384x16384": lambda: hostile.webp_claiming(16_384, 16_384),
    "png bomb, 400 megapixels in a small file": lambda: hostile.png(20_000, 20_000, bit_depth=1),
    "png with a text chunk expanding to 64 MiB": hostile.text_chunk_bomb,
    "png with a colour profile expanding to 64 MiB": hostile.colour_profile_bomb,
    "20 MiB of garbage behind a png header": lambda: hostile.garbage_behind_a_header(20 * MIB),
    "20 MiB that is no image": lambda: os.urandom(20 * MIB),
    "truncated png": lambda: hostile.truncated(hostile.drawn("PNG", 2000, 1500)),
    "truncated jpeg": lambda: hostile.truncated(hostile.drawn("JPEG", 2000, 1500)),
    "truncated webp": lambda: hostile.truncated(hostile.drawn("WEBP", 2000, 1500)),
}


@pytest.fixture(scope="module")
def stored_cases(redis_server: RedisServer) -> dict[str, tuple[str, int]]:
    """Every vision case stored as a blob, as the gateway (or another producer) would store it: name -> (sha, size)."""
    blobs = SyncBlobStore(redis.Redis.from_url(redis_server.url), 3600)
    stored = {}
    for name, make in VISION_CASES.items():
        data = make()
        stored[name] = (blobs.put(data), len(data))
    return stored


def probe(redis_url: str, sha256: str) -> dict[str, object]:
    run = subprocess.run([sys.executable, "-m", "tests.support.image_probe", redis_url, sha256], cwd=ROOT,
                         capture_output=True, text=True, timeout=60, check=False)
    assert run.returncode == 0, run.stderr[-2000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("case", VISION_CASES)
def test_the_vision_input_check_refuses_in_time_and_bounded_memory(
        stored_cases: dict[str, tuple[str, int]], redis_server: RedisServer, case: str) -> None:
    sha256, size = stored_cases[case]
    report = probe(redis_server.url, sha256)
    assert report["outcome"] == "refused", report
    assert (report["error"], report["code"]) == ("InvalidImage", "inference_failed"), report
    assert float(report["seconds"]) < WITHIN_S, report  # type: ignore[arg-type]
    assert int(report["peak_growth_bytes"]) < memory_bound(size), report  # type: ignore[call-overload]


def test_the_probe_sees_what_decoding_a_large_picture_costs(redis_server: RedisServer) -> None:
    """Control: an honest 30-megapixel picture (under every limit) is accepted, and the probe measures its cost
    far above the bound the refusals are held to (so a bomb that were decoded would fail the test above)."""
    data = hostile.png(6_000, 5_000)
    report = probe(redis_server.url, SyncBlobStore(redis.Redis.from_url(redis_server.url), 3600).put(data))
    assert report["outcome"] == "accepted", report
    assert int(report["peak_growth_bytes"]) > memory_bound(len(data)), report  # type: ignore[call-overload]

