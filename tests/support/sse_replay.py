"""How the local fakes of streaming APIs write server-sent events: a chunked 200 response, one event per
HTTP chunk and a flush after each (as a provider streams them), and a held stream that sends keep-alives
until the client hangs up; and how they cut an answer into the pieces a model streams."""

from __future__ import annotations

import threading

from tests.support.fake_http import FakeHandler

HOLD_INTERVAL_S = 0.05  # a keep-alive this often finds a closed socket soon after the client leaves


def start_stream(handler: FakeHandler) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", "text/event-stream")
    handler.send_header("Transfer-Encoding", "chunked")
    handler.end_headers()


def send_event(handler: FakeHandler, event: str) -> None:
    """One event's text (its lines and the blank line that ends it) as one HTTP chunk."""
    data = event.encode()
    handler.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
    handler.wfile.flush()


def end_stream(handler: FakeHandler) -> None:
    handler.wfile.write(b"0\r\n\r\n")
    handler.wfile.flush()


def hold_stream(handler: FakeHandler, keep_alive: str, stopping: threading.Event, client_left: threading.Event) -> None:
    """Send `keep_alive` until the client hangs up (then set `client_left`) or the fake stops."""
    try:
        while not stopping.wait(HOLD_INTERVAL_S):
            send_event(handler, keep_alive)
    except OSError:
        client_left.set()


def word_pieces(text: str) -> list[str]:
    """The text as a model streams it: a word (with its leading space) per event."""
    words = text.split(" ")
    return [word if index == 0 else " " + word for index, word in enumerate(words)] if text else []


def split_text(text: str, parts: int) -> list[str]:
    """`text` in about `parts` pieces, as tool-call arguments arrive."""
    size = max(1, -(-len(text) // parts))
    return [text[start:start + size] for start in range(0, len(text), size)]
