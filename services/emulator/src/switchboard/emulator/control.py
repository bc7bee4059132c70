"""The control API under ``/_emulator/``: drive and inspect the emulator over HTTP.

It is the HTTP face of :class:`~switchboard.emulator.server.Emulator`'s
in-process helpers, for tests and tools in other processes (see
``client.EmulatorClient``). JSON in, JSON out; ids are strings.

It has **no authentication**: anyone who can reach it can post as any user.
That is acceptable only because the emulator is a local test double that
binds to loopback by default; do not expose it on a shared network.

Endpoints::

    POST /_emulator/messages            inject a user message -> message
         {"content", "channel_id"?: id or name (default "general"),
          "author"?: id or username (default "alice"), "mention_bot"?: bool,
          "reply_to"?: message id, "dm"?: bool}
    GET  /_emulator/messages?channel_id=&author=bot|<id>|<username>
                                        -> {"messages": [message, ...]} oldest first
    GET  /_emulator/messages/{id}       -> message
    GET  /_emulator/events?after=<seq>&timeout=<s>
                                        -> {"events": [...], "last_seq": n} (long poll)
    GET  /_emulator/state               -> {"bot_user", "application_id", "guild", "channels",
                                            "users", "identified_sessions", "last_event_seq"}
    POST /_emulator/channels {"name", "topic"?}          -> channel (201)
    POST /_emulator/gateway/reconnect   -> {"sessions": n} (op 7 sent to each)
    POST /_emulator/reset               -> {} (forget messages, events, rate limits)

A message is Discord's payload plus ``created_content``, ``edits``,
``request`` and ``allowed_mentions`` (see ``messages.StoredMessage.view``);
an event is described in ``events``. Errors are ``{"error": str, "code": int}``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from . import errors
from .errors import DiscordError
from .responses import json_response

if TYPE_CHECKING:
    from .server import Emulator

log = logging.getLogger(__name__)

CONTROL_PREFIX = "/_emulator"
# Long polls are capped so a forgotten client cannot pin a request forever.
MAX_POLL_TIMEOUT_S = 60.0

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ControlApi:
    """Routes of the control API, delegating to an :class:`Emulator`."""

    def __init__(self, emulator: Emulator):
        self._emulator = emulator

    def install(self, app: web.Application) -> None:
        app.middlewares.append(self.middleware)
        routes = [
            ("POST", "/messages", self.inject_message),
            ("GET", "/messages", self.list_messages),
            ("GET", r"/messages/{message_id:\d+}", self.get_message),
            ("GET", "/events", self.events),
            ("GET", "/state", self.state),
            ("POST", "/channels", self.create_channel),
            ("POST", "/gateway/reconnect", self.reconnect),
            ("POST", "/reset", self.reset),
        ]
        for method, path, handler in routes:
            app.router.add_route(method, CONTROL_PREFIX + path, handler)

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Report failures as ``{"error", "code"}`` JSON instead of HTML pages."""
        if not request.path.startswith(CONTROL_PREFIX + "/"):
            return await handler(request)
        try:
            return await handler(request)
        except DiscordError as exc:
            return json_response({"error": exc.message, "code": exc.code}, status=exc.status)
        except web.HTTPException as exc:
            return json_response({"error": exc.reason, "code": 0}, status=exc.status)
        except Exception:
            log.exception("control API failed on %s %s", request.method, request.path)
            return json_response({"error": "internal error in the emulator", "code": 0}, status=500)

    async def inject_message(self, request: web.Request) -> web.Response:
        body = await _json_body(request)
        content = body.get("content", "")
        if not isinstance(content, str):
            raise errors.invalid_form_body("content", "BASE_TYPE_STRING", "Must be a string.")
        message = self._emulator.inject_message(
            content,
            channel_id=body.get("channel_id"),
            author=body.get("author", "alice"),
            mention_bot=bool(body.get("mention_bot", False)),
            reply_to=body.get("reply_to"),
            dm=bool(body.get("dm", False)),
        )
        return json_response(message, status=201)

    async def list_messages(self, request: web.Request) -> web.Response:
        query = request.query
        messages = self._emulator.messages(
            channel_id=query.get("channel_id") or None, author=query.get("author") or None
        )
        return json_response({"messages": messages})

    async def get_message(self, request: web.Request) -> web.Response:
        return json_response(self._emulator.message(int(request.match_info["message_id"])))

    async def events(self, request: web.Request) -> web.Response:
        after = _query_number(request, "after", 0, int)
        timeout = min(_query_number(request, "timeout", 0.0, float), MAX_POLL_TIMEOUT_S)
        found = await self._emulator.actions.wait_after(after, timeout)
        return json_response({"events": found, "last_seq": self._emulator.last_event_seq})

    async def state(self, request: web.Request) -> web.Response:
        return json_response(self._emulator.state())

    async def create_channel(self, request: web.Request) -> web.Response:
        body = await _json_body(request)
        name, topic = body.get("name"), body.get("topic")
        if not isinstance(name, str) or (topic is not None and not isinstance(topic, str)):
            raise errors.invalid_form_body("name", "BASE_TYPE_REQUIRED", "name (and topic, if given) must be strings")
        return json_response(self._emulator.create_channel(name, topic), status=201)

    async def reconnect(self, request: web.Request) -> web.Response:
        return json_response({"sessions": self._emulator.request_reconnect()})

    async def reset(self, request: web.Request) -> web.Response:
        self._emulator.reset()
        return json_response({})


async def _json_body(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    try:
        body = json.loads(raw) if raw.strip() else {}
    except ValueError:
        raise errors.invalid_json() from None
    if not isinstance(body, dict):
        raise errors.invalid_json()
    return body


def _query_number(request: web.Request, name: str, default: Any, kind: type) -> Any:
    value = request.query.get(name)
    if value is None or value == "":
        return default
    try:
        return kind(value)
    except ValueError:
        raise DiscordError(400, 0, f"query parameter {name!r} must be a number") from None
