"""The HTTP half every hosted chat driver shares: one connection pool, one streamed POST, typed errors.

A driver builds its provider's request body and a fresh `StreamParser` (one response line in, the `delta`
chunks it holds out; then the `done` chunk); `ChatHttp.stream` sends the body, feeds the response's lines to
the parser and yields what it gives. Closing the generator early (the bridge does when an activation is
superseded) closes the HTTP response, which ends generation at the provider.

Errors are typed by what a retry could do: rate limits, server errors, timeouts and unreachable hosts are
`ModelUnavailable` (retryable); a refused request is `InferenceError` with the provider's own message. The
API key travels in a header only, and is scrubbed from any provider text that reaches an error.

A request whose connection is closed before any of the response arrived is sent once more: a pooled
keep-alive connection can be closed by the server just as it is reused (llama-cpp-python's server does so
after an empty 200 stream), which says nothing about the server. Nothing is re-sent once a response began,
nor after a timeout or an error status.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from typing import Any, Protocol

import httpx

from switchboard.core.errors import InferenceError, ModelUnavailable
from switchboard.inference.providers.http_errors import raise_for_provider_status, scrub

CONNECT_TIMEOUT_S = 10.0
PROVIDER = "the chat provider"  # how errors name the provider to the user


class StreamParser(Protocol):
    """Reads one streamed response, line by line, with no I/O of its own."""

    @property
    def finished(self) -> bool:
        """The provider marked the end of the answer: nothing after this line needs reading."""
        ...

    def feed(self, line: str) -> list[dict[str, Any]]:
        """The `delta` chunks in one line of the body (none for blank lines, comments, other fields)."""
        ...

    def done(self) -> dict[str, Any]:
        """The final chunk; raises `ModelUnavailable` when the stream ended before the model finished."""
        ...


class ChatHttp:
    """One connection pool per driver; `stream` is safe to call from several threads."""

    def __init__(self, base_url: str, headers: Mapping[str, str], timeout_s: float, secret: str) -> None:
        """`headers` go with every request (the key among them); `secret` is the key, to scrub from errors."""
        self._secret = secret
        # httpx's timeout bounds each phase (connect, each read between streamed bytes), not the whole answer.
        self._client = httpx.Client(base_url=base_url.rstrip("/"), headers=dict(headers),
                                    timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, CONNECT_TIMEOUT_S)))

    def stream(self, path: str, body: dict[str, Any], parser: StreamParser,
               params: Mapping[str, str] | None = None) -> Generator[dict[str, Any], None, None]:
        """POST `body` (JSON) to `path` and yield the parser's chunks; raises `ModelUnavailable` or `InferenceError`."""
        try:
            response = self._send(self._client.build_request("POST", path, json=body, params=params))
            try:
                if response.status_code >= 400:
                    response.read()  # a streamed response's error body must be read before it is parsed
                raise_for_provider_status(response, PROVIDER, self._secret)
                yield from self._chunks(response, parser)
            finally:
                response.close()
        except httpx.TimeoutException:
            waited = self._client.timeout.read
            raise ModelUnavailable(f"{PROVIDER} did not answer within {waited:g} s") from None
        except httpx.TransportError as exc:
            raise ModelUnavailable(f"{PROVIDER} is unreachable ({type(exc).__name__})") from None

    def close(self) -> None:
        self._client.close()

    def _send(self, request: httpx.Request) -> httpx.Response:
        """The response, its headers read and its body not yet; sent a second time if the connection was
        closed before any response came (see module)."""
        try:
            return self._client.send(request, stream=True)
        except (httpx.RemoteProtocolError, httpx.ReadError):
            # Raised here, before the status line and headers were read, these mean the connection was
            # closed or reset without an answer (or, rarely, with a garbled one): nothing reached the caller,
            # so one more try cannot repeat any output. A timeout is `TimeoutException`, never one of these.
            # The pool has dropped that connection, so the second try goes out on another; its failure is
            # the caller's `ModelUnavailable`.
            return self._client.send(request, stream=True)

    def _chunks(self, response: httpx.Response, parser: StreamParser) -> Generator[dict[str, Any], None, None]:
        try:
            for line in response.iter_lines():
                yield from parser.feed(line)
                if parser.finished:
                    break
            yield parser.done()
        except InferenceError as exc:  # a provider's mid-stream message could quote the key
            raise type(exc)(scrub(exc.message, self._secret)) from None
