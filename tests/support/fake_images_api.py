"""A local fake of the OpenAI Images API: a real HTTP server on 127.0.0.1 (ephemeral port, own thread).

    with FakeImagesApi() as api:
        settings = InferenceSettings(image_backend="openai", image_base_url=api.url, ...)
        ...
        api.requests[0].headers["authorization"]  # what the driver sent
        api.fail_next(429, {"error": {"message": "slow down"}})  # the next request only

`POST /v1/images/generations` answers `{"created", "data": [{"b64_json", "revised_prompt"}]}` with `n`
real grey PNGs of the requested `size` (each a different shade, so each is its own blob). Everything it
served is in `.served`. Any other path is a 404.
"""

from __future__ import annotations

import base64
import json
import struct
import time
import zlib
from dataclasses import dataclass
from typing import Any

from tests.support.fake_http import FakeHandler, LocalFake, RecordedRequest, error_body

GENERATIONS_PATH = "/v1/images/generations"


def png(width: int, height: int, shade: int = 0x80) -> bytes:
    """A real grey PNG image (8-bit greyscale), made with zlib and struct only."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\x00" + bytes([shade]) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


@dataclass(frozen=True)
class _Answer:
    status: int
    body: bytes
    hang: bool = False


class FakeImagesApi(LocalFake):
    """The fake server. Start and stop it with `with`, or `start()` / `stop()`; `url` is what
    `SWITCHBOARD_IMAGE_BASE_URL` takes."""

    def __init__(self, revised_prompt: str | None = "a revised prompt") -> None:
        super().__init__(self._serve, "fake-images-api")
        self.revised_prompt = revised_prompt
        self.served: list[bytes] = []
        self._scripted: list[_Answer] = []

    def fail_next(self, status: int, body: dict | str | bytes | None = None) -> None:
        """Answer the next request with `status` and `body` (a dict is sent as JSON); then back to normal.

        Calls queue up: two calls script the next two requests. A 200 with garbage is a "failure" too.
        """
        with self._lock:
            self._scripted.append(_Answer(status, error_body(status, body)))

    def hang_next(self) -> None:
        """Never answer the next request (until the fake stops): the client's timeout must end it."""
        with self._lock:
            self._scripted.append(_Answer(0, b"", hang=True))

    def _serve(self, handler: FakeHandler, request: RecordedRequest) -> None:
        answer = self._answer(request)
        if answer.hang:
            self._stopping.wait()
            return
        handler.send_json(answer.status, answer.body)

    def _answer(self, request: RecordedRequest) -> _Answer:
        with self._lock:
            if self._scripted:
                return self._scripted.pop(0)
        if request.method != "POST" or request.path != GENERATIONS_PATH:
            return _Answer(404, json.dumps({"error": {"message": f"no route {request.path}"}}).encode())
        return self._generate(request.body)

    def _generate(self, body: Any) -> _Answer:
        try:
            width, height = (int(side) for side in body["size"].split("x"))
            count = int(body.get("n", 1))
        except (TypeError, KeyError, ValueError, AttributeError):
            return _Answer(400, json.dumps({"error": {"message": "bad size or n"}}).encode())
        images = [png(width, height, shade=0x40 + 0x20 * index) for index in range(count)]
        with self._lock:
            self.served.extend(images)
        data = [{"b64_json": base64.b64encode(image).decode(), "revised_prompt": self.revised_prompt}
                for image in images]
        return _Answer(200, json.dumps({"created": int(time.time()), "data": data}).encode())
