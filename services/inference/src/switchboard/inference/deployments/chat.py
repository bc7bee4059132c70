"""The Serve deployment for the chat role.

``ChatModel`` wraps one engine per replica (llama.cpp or echo, per
``ChatRoleConfig.backend``). Its resources and scaling come only from the
config, via ``build_chat_app``; the decorator sets none of them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from ray import serve
from ray.serve import Application

from switchboard.inference.deployments.config import ChatRoleConfig
from switchboard.inference.deployments.engines import make_engine
from switchboard.inference.deployments.placement import serve_options
from switchboard.inference.deployments.protocol import coalesce_deltas, parse_chat_request

CHAT_DEPLOYMENT_NAME = "ChatModel"

# Serve's replica logger: lines land in the replica's log file tagged with the
# Serve request id, next to Serve's own access logs.
_logger = logging.getLogger("ray.serve")


@serve.deployment(name=CHAT_DEPLOYMENT_NAME)
class ChatModel:
    """One chat replica.

    The constructor loads the model; a ``ModelLoadError`` there fails the
    replica and, after Serve's retries, the deployment.
    """

    def __init__(self, config: ChatRoleConfig) -> None:
        self._engine = make_engine(config)
        self._coalesce_s = config.stream_coalesce_s
        _logger.info("chat replica ready: backend=%s model=%s", config.backend, config.model_name)

    def stream(self, request: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """Stream chunks for one chat request (call with ``handle.options(stream=True)``).

        A sync generator: Serve drains it in a worker thread, so the event
        loop stays free for other requests and health checks. Raises
        ``InvalidChatRequestError`` for a malformed request and whatever
        llama.cpp raises (e.g. ``ValueError`` when the prompt exceeds n_ctx).
        """
        parsed = parse_chat_request(request)
        # Tracing context travels inside the request; the bridge records the
        # spans. Logged here so replica logs can be joined to a trace.
        _logger.debug("chat stream start traceparent=%s", parsed.traceparent)
        yield from coalesce_deltas(self._engine.stream(parsed), self._coalesce_s)


def build_chat_app(config: ChatRoleConfig) -> Application:
    """The chat role's Serve application, sized from ``config``."""
    return ChatModel.options(**serve_options(config)).bind(config)
