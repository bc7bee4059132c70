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
import threading
import time
import zlib
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

GENERATIONS_PATH = "/v1/images/generations"


def png(width: int, height: int, shade: int = 0x80) -> bytes:
    """A real grey PNG image (8-bit greyscale), made with zlib and struct only."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\x00" + bytes([shade]) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    body: Any  # parsed JSON, or the raw text when it was not JSON


@dataclass(frozen=True)
class _Answer:
    status: int
    body: bytes
    hang: bool = False


class FakeImagesApi:
    """The fake server. Start and stop it with `with`, or `start()` / `stop()`."""

    def __init__(self, revised_prompt: str | None = "a revised prompt") -> None:
        self.revised_prompt = revised_prompt
        self.requests: list[RecordedRequest] = []
        self.served: list[bytes] = []
        self._scripted: list[_Answer] = []
        self._lock = threading.Lock()
        self._released = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-images-api", daemon=True)

    @property
    def url(self) -> str:
        """The API's base URL, ending in `/v1` (what `SWITCHBOARD_IMAGE_BASE_URL` takes)."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def fail_next(self, status: int, body: dict | str | bytes | None = None) -> None:
        """Answer the next request with `status` and `body` (a dict is sent as JSON); then back to normal.

        Calls queue up: two calls script the next two requests. A 200 with garbage is a "failure" too.
        """
        if body is None:
            body = {"error": {"message": f"fake error {status}", "type": "fake"}}
        raw = json.dumps(body).encode() if isinstance(body, dict) else body.encode() if isinstance(body, str) else body
        with self._lock:
            self._scripted.append(_Answer(status, raw))

    def hang_next(self) -> None:
        """Never answer the next request (until the fake stops): the client's timeout must end it."""
        with self._lock:
            self._scripted.append(_Answer(0, b"", hang=True))

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._released.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _answer(self, request: RecordedRequest) -> _Answer:
        with self._lock:
            self.requests.append(request)
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


def _handler(api: FakeImagesApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self._serve()

        def do_GET(self) -> None:
            self._serve()

        def _serve(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            try:
                body: Any = json.loads(raw)
            except ValueError:
                body = raw.decode(errors="replace")
            answer = api._answer(RecordedRequest(self.command, self.path,
                                                 {k.lower(): v for k, v in self.headers.items()}, body))
            if answer.hang:
                api._released.wait()
                return
            self.send_response(answer.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            self.wfile.write(answer.body)

        def log_message(self, *args: object) -> None:
            pass

    return Handler
