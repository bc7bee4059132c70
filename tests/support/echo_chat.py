"""The echo chat engine in the test process: the bridge's chat path without Ray."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from switchboard.inference.deployments.engines import EchoEngine
from switchboard.inference.deployments.protocol import parse_chat_request


class EchoChat:
    """Streams the last user message back, as the echo deployment would; counts the requests it served."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []

    def stream_chat(self, request: dict[str, Any]) -> Generator[dict[str, Any], None, None]:
        self.requests.append(request)
        yield from EchoEngine().stream(parse_chat_request(request))
