"""What the local fakes of HTTP APIs share: a real server on 127.0.0.1 (ephemeral port, own thread),
recorded requests, and JSON answers."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    body: Any  # parsed JSON, or the raw text when it was not JSON


@dataclass(frozen=True)
class Failure:
    """An error answer a fake was told to give: the status and the exact body."""

    status: int
    body: bytes


def error_body(status: int, body: dict | str | bytes | None) -> bytes:
    """A provider-style error body: a dict is sent as JSON, None as OpenAI's `{"error": {"message"}}`."""
    if body is None:
        body = {"error": {"message": f"fake error {status}", "type": "fake"}}
    return json.dumps(body).encode() if isinstance(body, dict) else body.encode() if isinstance(body, str) else body


class LocalFake:
    """The server's life: start and stop it with `with`, or `start()` / `stop()`; `url` ends in `/v1`."""

    def __init__(self, serve: Callable[[FakeHandler, RecordedRequest], None], name: str) -> None:
        """`serve` answers each request (already recorded in `requests`) through the handler."""
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()  # set on stop: held requests let go
        handler = type("Handler", (FakeHandler,), {"fake": self, "answer": staticmethod(serve)})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name=name, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class QueuedAnswers:
    """For fakes that answer from a queue of scripted answers kept in `self._queued` under `self._lock`."""

    _lock: threading.Lock
    _queued: list[Any]

    def fail_next(self, status: int, body: dict | str | bytes | None = None) -> None:
        """Answer the next request with `status` and `body` (a dict is sent as JSON), not a stream."""
        with self._lock:
            self._queued.append(Failure(status, error_body(status, body)))


class FakeHandler(BaseHTTPRequestHandler):
    """Records each request on its fake and hands it to the fake's `serve`; quiet."""

    protocol_version = "HTTP/1.1"
    fake: LocalFake  # set per server, with `answer` (the fake's `serve`)
    answer: Callable[[FakeHandler, RecordedRequest], None]

    def do_POST(self) -> None:
        self._record_and_answer()

    def do_GET(self) -> None:
        self._record_and_answer()

    def _record_and_answer(self) -> None:
        request = self.recorded()
        with self.fake._lock:
            self.fake.requests.append(request)
        self.answer(self, request)

    def recorded(self) -> RecordedRequest:
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        try:
            body: Any = json.loads(raw)
        except ValueError:
            body = raw.decode(errors="replace")
        return RecordedRequest(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)

    def send_json(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass
