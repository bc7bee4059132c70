"""The control API under ``/_emulator/``: drive and inspect the emulator over HTTP.

It is the HTTP face of :class:`~switchboard.emulator.server.Emulator`'s
in-process helpers, for tests and tools in other processes (see
``client.EmulatorClient``). JSON in, JSON out; ids are strings.

It has **no authentication**: anyone who can reach it can post as any user.
That is acceptable only because the emulator is a local test double that
binds to loopback by default; do not expose it on a shared network.

Endpoints::

    POST /_emulator/messages            inject a user message -> message
         {"content", "channel_id"?: id or name (default "general"; threads too),
          "author"?: id or username (default "alice"), "mention_bot"?: bool,
          "reply_to"?: message id, "dm"?: bool,
          "attachments"?: [{"filename", "data" (base64), "content_type"?, "width"?, "height"?}]}
    POST /_emulator/messages/bulk       inject a flood of user messages -> {"ids": [id, ...]} (201)
         {"content", "count": 1..50000, "channel_ids"?: [id or name, ...] (round robin; default ["general"]),
          "author"?, "mention_bot"?: bool}; every message is dispatched, in order, before the response
    GET  /_emulator/messages?channel_id=&author=bot|<id>|<username>
                                        -> {"messages": [message, ...]} oldest first
    GET  /_emulator/messages/{id}       -> message
    PATCH /_emulator/messages/{id} {"content"}
                                        its (user) author edits it -> message (MESSAGE_UPDATE, whole message)
    DELETE /_emulator/messages/{id}     its author or a moderator deletes it -> the deleted message
                                        (MESSAGE_DELETE {"id", "channel_id", "guild_id"?})
    POST /_emulator/channels/{id or name}/bulk-delete {"ids": [id, ...] (1..100, distinct)}
                                        a moderator deletes messages of a guild channel -> {"ids": [id, ...]}
                                        (one MESSAGE_DELETE_BULK {"ids", "channel_id", "guild_id"})
    GET  /_emulator/events?after=<seq>&timeout=<s>
                                        -> {"events": [...], "last_seq": n} (long poll)
    GET  /_emulator/state               -> {"bot_user", "application_id", "guild", "guilds" (with "bot_member"),
                                            "channels", "users", "identified_sessions", "last_event_seq",
                                            "sessions", "faults": {"pending", "injected"}}
    POST /_emulator/channels {"name", "topic"?, "guild"?}  -> channel (201)
    POST /_emulator/threads {"channel_id", "name", "author"?, "auto_archive_duration"?}
                                        -> thread channel (201; THREAD_CREATE dispatched)
    POST /_emulator/guilds/{id or name}/remove-bot
                                        the bot is kicked -> {"id", "name", "owner_id", "bot_member": false,
                                        "sessions": n} (GUILD_DELETE {"id", "unavailable": false} to n sessions;
                                        then no guild events but interactions, and REST answers 403)
    POST /_emulator/guilds/{id or name}/add-bot
                                        the bot joins again -> the same with "bot_member": true (GUILD_CREATE
                                        without "unavailable", i.e. a join)
    POST /_emulator/gateway/reconnect   -> {"sessions": n} (op 7 sent to each)
    POST /_emulator/reset               -> {} (forget messages, interactions, events, faults, rate limits)

Interactions, commands and faults (``control_interactions``)::

    GET  /_emulator/commands            -> {"global": [command], "guilds": {guild_id: [command]}}
    POST /_emulator/interactions        invoke a command -> interaction (201)
    GET  /_emulator/interactions/{id}   -> interaction
    POST /_emulator/interactions/{id}/modal {"values", "user"?}  submit its modal -> interaction (201)
    POST /_emulator/components {"message_id", "custom_id", "values"?, "user"?, "permissions"?}
                                        click a button / pick from a select -> interaction (201)
    POST /_emulator/faults {"status", "path_pattern", "method"?, "count"?, "retry_after"?, "global"?}
                                        -> fault (201)
    GET  /_emulator/faults              -> {"faults": [fault], "injected": n}
    DELETE /_emulator/faults            -> {"cleared": n}

A message is Discord's payload plus ``created_content``, ``edits``,
``request`` and ``allowed_mentions`` (see ``messages.StoredMessage.view``);
an event is described in ``events``. Errors are ``{"error": str, "code": int}``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from . import errors
from .control_interactions import install_interaction_routes, json_body
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
            ("POST", "/messages/bulk", self.inject_messages),
            ("GET", "/messages", self.list_messages),
            ("GET", r"/messages/{message_id:\d+}", self.get_message),
            ("PATCH", r"/messages/{message_id:\d+}", self.edit_message),
            ("DELETE", r"/messages/{message_id:\d+}", self.delete_message),
            ("POST", r"/messages/{message_id:\d+}/redeliver", self.redeliver),
            ("GET", "/events", self.events),
            ("GET", "/state", self.state),
            ("POST", "/channels", self.create_channel),
            ("POST", "/channels/{channel}/bulk-delete", self.bulk_delete),
            ("POST", "/threads", self.create_thread),
            ("POST", "/guilds/{guild}/remove-bot", self.remove_bot),
            ("POST", "/guilds/{guild}/add-bot", self.add_bot),
            ("POST", "/gateway/reconnect", self.reconnect),
            ("POST", "/reset", self.reset),
        ]
        for method, path, handler in routes:
            app.router.add_route(method, CONTROL_PREFIX + path, handler)
        install_interaction_routes(app, CONTROL_PREFIX, self._emulator)

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
            attachments=body.get("attachments"),
            served_from=f"{request.scheme}://{request.host}",
        )
        return json_response(message, status=201)

    async def inject_messages(self, request: web.Request) -> web.Response:
        body = await _json_body(request)
        content, count = body.get("content", ""), body.get("count")
        channels, mention_bot = body.get("channel_ids", ["general"]), body.get("mention_bot", False)
        if not isinstance(content, str):
            raise errors.invalid_form_body("content", "BASE_TYPE_STRING", "Must be a string.")
        if not isinstance(count, int) or isinstance(count, bool):
            raise errors.invalid_form_body("count", "NUMBER_TYPE_COERCE", "Must be an integer.")
        if not isinstance(channels, list) or not all(isinstance(c, str | int) for c in channels):
            raise errors.invalid_form_body("channel_ids", "BASE_TYPE_ARRAY", "Must be a list of channel ids or names.")
        if not isinstance(mention_bot, bool):
            raise errors.invalid_form_body("mention_bot", "BASE_TYPE_BOOLEAN", "Must be a boolean.")
        ids = self._emulator.inject_messages(
            content, count, channel_ids=channels, author=body.get("author", "alice"), mention_bot=mention_bot
        )
        return json_response({"ids": ids}, status=201)

    async def list_messages(self, request: web.Request) -> web.Response:
        query = request.query
        messages = self._emulator.messages(
            channel_id=query.get("channel_id") or None, author=query.get("author") or None
        )
        return json_response({"messages": messages})

    async def redeliver(self, request: web.Request) -> web.Response:
        return json_response(self._emulator.redeliver(int(request.match_info["message_id"])))

    async def get_message(self, request: web.Request) -> web.Response:
        return json_response(self._emulator.message(int(request.match_info["message_id"])))

    async def edit_message(self, request: web.Request) -> web.Response:
        body = await _json_body(request)
        if "content" not in body:
            raise errors.invalid_form_body("content", "BASE_TYPE_REQUIRED", "This field is required")
        return json_response(self._emulator.edit_message(int(request.match_info["message_id"]), body["content"]))

    async def delete_message(self, request: web.Request) -> web.Response:
        return json_response(self._emulator.delete_message(int(request.match_info["message_id"])))

    async def bulk_delete(self, request: web.Request) -> web.Response:
        ids = (await _json_body(request)).get("ids")
        if not isinstance(ids, list):
            raise errors.invalid_form_body("ids", "BASE_TYPE_ARRAY", "Must be a list of message ids.")
        return json_response({"ids": self._emulator.bulk_delete(request.match_info["channel"], ids)})

    async def remove_bot(self, request: web.Request) -> web.Response:
        return json_response(self._emulator.remove_bot_from_guild(request.match_info["guild"]))

    async def add_bot(self, request: web.Request) -> web.Response:
        return json_response(self._emulator.add_bot_to_guild(request.match_info["guild"]))

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
        return json_response(self._emulator.create_channel(name, topic, body.get("guild")), status=201)

    async def create_thread(self, request: web.Request) -> web.Response:
        body = await _json_body(request)
        channel, name = body.get("channel_id"), body.get("name")
        if channel is None:
            raise errors.invalid_form_body("channel_id", "BASE_TYPE_REQUIRED", "The parent channel is required")
        thread = self._emulator.create_thread(
            channel,
            name,
            author=body.get("author", "alice"),
            auto_archive_duration=body.get("auto_archive_duration", 1440),
        )
        return json_response(thread, status=201)

    async def reconnect(self, request: web.Request) -> web.Response:
        return json_response({"sessions": self._emulator.request_reconnect()})

    async def reset(self, request: web.Request) -> web.Response:
        self._emulator.reset()
        return json_response({})


_json_body = json_body


def _query_number(request: web.Request, name: str, default: Any, kind: type) -> Any:
    value = request.query.get(name)
    if value is None or value == "":
        return default
    try:
        return kind(value)
    except ValueError:
        raise DiscordError(400, 0, f"query parameter {name!r} must be a number") from None
