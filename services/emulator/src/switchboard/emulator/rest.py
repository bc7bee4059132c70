"""The Discord REST API under ``/api/v10`` (and ``/api/v9``).

Every API request is authenticated (``Authorization: Bot <token>``; the
interaction and webhook routes carry their token in the URL instead, as on
Discord), may be answered by an injected failure (see ``faults``), is
counted against a rate limit bucket whose ``X-RateLimit-*`` headers
accompany every answer, and is answered with Discord-shaped JSON, errors
included: an unknown route is a JSON 404 and an unexpected failure a JSON
500, never a dropped connection. Message creates and edits share one bucket
per channel (Discord's 5 per 5 s by default); other routes get a bucket per
route and major parameter. The application command, interaction and webhook
routes live in ``rest_interactions``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence

from aiohttp import web

from . import errors, parsing
from .config import EmulatorConfig
from .errors import DiscordError
from .faults import FaultInjector
from .models import Channel, Guild
from .operations import Operations
from .ratelimit import BucketSpec, Decision, RateLimiter
from .responses import error_response, json_response, no_content

log = logging.getLogger(__name__)

API_PREFIXES = ("/api/v10", "/api/v9")
_API_ROOT = "/api/"
# Routes authenticated by the token in their URL, not by the bot token.
_TOKEN_IN_URL_PREFIXES = ("/interactions/", "/webhooks/")
# Route parameters that make a rate limit bucket's major parameter, in order of preference.
_MAJOR_PARAMETERS = ("channel_id", "guild_id", "interaction_id", "webhook_token")
_MESSAGE_WRITES = frozenset(
    {("POST", "/channels/{channel_id}/messages"), ("PATCH", "/channels/{channel_id}/messages/{message_id}")}
)
# Keys of GUILD_CREATE that the REST guild object does not have.
_GATEWAY_ONLY_GUILD_KEYS = (
    "joined_at",
    "large",
    "unavailable",
    "member_count",
    "members",
    "channels",
    "threads",
    "presences",
    "voice_states",
    "stage_instances",
    "guild_scheduled_events",
    "soundboard_sounds",
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
#: A REST route: method, path below the API prefix, handler.
Route = tuple[str, str, Handler]


class RestApi:
    """Registers the REST routes (its own plus ``extra_routes``) and the middleware that guards them."""

    def __init__(
        self,
        operations: Operations,
        limiter: RateLimiter,
        config: EmulatorConfig,
        faults: FaultInjector,
        extra_routes: Sequence[Route] = (),
    ):
        self._ops = operations
        self._world = operations.world
        self._limiter = limiter
        self._config = config
        self._faults = faults
        self._extra_routes = list(extra_routes)
        self._message_bucket = BucketSpec("messages", config.message_rate_limit, config.message_rate_window_s)

    def install(self, app: web.Application) -> None:
        app.middlewares.append(self.middleware)
        for prefix in API_PREFIXES:
            for method, path, handler in [*self._routes(), *self._extra_routes]:
                app.router.add_route(method, prefix + path, handler)
        app.router.add_get(r"/attachments/{channel_id:\d+}/{attachment_id:\d+}/{filename}", self.get_attachment)

    def _routes(self) -> list[Route]:
        channel = r"/channels/{channel_id:\d+}"
        message = channel + r"/messages/{message_id:\d+}"
        own_reaction = message + "/reactions/{emoji}/@me"
        return [
            ("GET", "/users/@me", self.get_current_user),
            ("POST", "/users/@me/channels", self.open_dm),
            ("GET", r"/users/{user_id:\d+}", self.get_user),
            ("GET", "/oauth2/applications/@me", self.get_application),
            ("GET", "/applications/@me", self.get_application),
            ("GET", "/gateway", self.get_gateway),
            ("GET", "/gateway/bot", self.get_gateway_bot),
            ("GET", r"/guilds/{guild_id:\d+}", self.get_guild),
            ("GET", r"/guilds/{guild_id:\d+}/channels", self.get_guild_channels),
            ("GET", r"/guilds/{guild_id:\d+}/members/{user_id:\d+}", self.get_guild_member),
            ("GET", channel, self.get_channel),
            ("GET", channel + "/messages", self.get_messages),
            ("POST", channel + "/messages", self.create_message),
            ("GET", message, self.get_message),
            ("PATCH", message, self.edit_message),
            ("DELETE", message, self.delete_message),
            ("POST", channel + "/typing", self.trigger_typing),
            ("PUT", own_reaction, self.add_reaction),
            ("DELETE", own_reaction, self.remove_reaction),
        ]

    # -- middleware ------------------------------------------------------------------

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Authenticate, rate limit and turn every failure into a Discord error body."""
        if not request.path.startswith(_API_ROOT):
            return await handler(request)
        decision: Decision | None = None
        try:
            if (
                not _api_path(request).startswith(_TOKEN_IN_URL_PREFIXES)
                and request.headers.get("Authorization") != f"Bot {self._config.token}"
            ):
                raise errors.unauthorized()
            fault = self._faults.take(request.method, _api_path(request))
            if fault is not None:
                channel_id = request.match_info.get("channel_id")
                self._ops.note_fault(
                    int(channel_id) if channel_id else None,
                    status=fault.status,
                    method=request.method,
                    path=_api_path(request),
                    route=f"{request.method} {_route_template(request)}",
                    fault_id=fault.id,
                    retry_after=fault.retry_after if fault.status == 429 else None,
                    **{"global": fault.is_global if fault.status == 429 else None},
                )
                return self._faults.response(fault, self._bucket(request)[0])
            decision = self._limiter.hit(*self._bucket(request))
            if not decision.allowed:
                return self._too_many_requests(request, decision)
            response = await handler(request)
        except DiscordError as exc:
            response = error_response(exc)
        except web.HTTPException as exc:
            response = error_response(DiscordError(exc.status, 0, f"{exc.status}: {exc.reason}"))
        except Exception:
            log.exception("emulator failed to answer %s %s", request.method, request.path)
            response = error_response(DiscordError(500, 0, "500: Internal Server Error"))
        if decision is not None:
            response.headers.update(decision.headers())
        return response

    def _bucket(self, request: web.Request) -> tuple[BucketSpec, str]:
        route = _route_template(request)
        major = next((request.match_info[key] for key in _MAJOR_PARAMETERS if key in request.match_info), "")
        if (request.method, route) in _MESSAGE_WRITES:
            return self._message_bucket, major
        spec = BucketSpec(
            f"{request.method} {route}", self._config.default_rate_limit, self._config.default_rate_window_s
        )
        return spec, major

    def _too_many_requests(self, request: web.Request, decision: Decision) -> web.Response:
        channel_id = request.match_info.get("channel_id")
        route = f"{request.method} {_route_template(request)}"
        self._ops.note_rate_limited(route, int(channel_id) if channel_id else None, decision.reset_after)
        return json_response(decision.body(), status=429, headers=decision.headers())

    # -- users, application, gateway ---------------------------------------------------

    async def get_current_user(self, request: web.Request) -> web.Response:
        return json_response(self._world.bot.private_payload())

    async def get_user(self, request: web.Request) -> web.Response:
        return json_response(self._world.user(int(request.match_info["user_id"])).payload())

    async def open_dm(self, request: web.Request) -> web.Response:
        body, _ = await parsing.read_body(request)
        recipient_id = str(body.get("recipient_id"))
        if not recipient_id.isdigit():
            raise errors.invalid_form_body("recipient_id", "BASE_TYPE_REQUIRED", "This field is required")
        recipient = self._world.user(int(recipient_id))
        if recipient.bot:
            raise errors.cannot_message_user()
        return json_response(self._world.channel_payload(self._world.dm_channel(recipient)))

    async def get_application(self, request: web.Request) -> web.Response:
        return json_response(self._world.application_payload())

    async def get_gateway(self, request: web.Request) -> web.Response:
        return json_response({"url": _gateway_url(request)})

    async def get_gateway_bot(self, request: web.Request) -> web.Response:
        limit = {
            "total": 1000,
            "remaining": 999,
            "reset_after": 14_400_000,
            "max_concurrency": self._config.max_concurrency,
        }
        return json_response(
            {"url": _gateway_url(request), "shards": self._config.shard_count, "session_start_limit": limit}
        )

    # -- guild ---------------------------------------------------------------------------

    def _guild(self, request: web.Request) -> Guild:
        """The guild of the route; 404 if unknown, 403 Missing Access if the bot is not in it (was removed)."""
        guild = self._world.guilds.get(int(request.match_info["guild_id"]))
        if guild is None:
            raise errors.unknown_guild()
        if not self._world.bot_in_guild(guild.id):
            raise errors.missing_access()
        return guild

    async def get_guild(self, request: web.Request) -> web.Response:
        guild = self._world.guild_payload(self._guild(request), all_members=False)
        for key in _GATEWAY_ONLY_GUILD_KEYS:
            guild.pop(key, None)
        return json_response(guild)

    async def get_guild_channels(self, request: web.Request) -> web.Response:
        guild = self._guild(request)
        return json_response([self._world.channel_payload(c) for c in self._world.guild_channels(guild.id)])

    async def get_guild_member(self, request: web.Request) -> web.Response:
        guild = self._guild(request)
        return json_response(self._world.member_payload(int(request.match_info["user_id"]), guild.id))

    # -- channels and messages -------------------------------------------------------------

    def _channel(self, request: web.Request) -> Channel:
        """The channel of the route; 404 if unknown, 403 Missing Access in a guild the bot is not in."""
        channel = self._world.channel(int(request.match_info["channel_id"]))
        if channel.guild_id is not None and not self._world.bot_in_guild(channel.guild_id):
            raise errors.missing_access()
        return channel

    async def get_channel(self, request: web.Request) -> web.Response:
        return json_response(self._world.channel_payload(self._channel(request)))

    async def get_messages(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        page = self._world.messages.history(
            channel.id,
            limit=parsing.query_int(request, "limit", 50) or 50,
            before=parsing.query_int(request, "before"),
            after=parsing.query_int(request, "after"),
            around=parsing.query_int(request, "around"),
        )
        return json_response([m.payload for m in page])

    async def create_message(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        body, uploads = await parsing.read_body(request)
        draft = parsing.message_draft(channel, self._world.bot, body, uploads)
        message, _ = self._ops.bot_create_message(draft)
        return json_response(message.payload)

    async def get_message(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        return json_response(self._world.messages.get(channel.id, int(request.match_info["message_id"])).payload)

    async def edit_message(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        body, uploads = await parsing.read_body(request)
        message = self._ops.bot_edit_message(channel, int(request.match_info["message_id"]), body, uploads)
        return json_response(message.payload)

    async def delete_message(self, request: web.Request) -> web.Response:
        self._ops.bot_delete_message(self._channel(request), int(request.match_info["message_id"]))
        return no_content()

    async def trigger_typing(self, request: web.Request) -> web.Response:
        self._ops.bot_typing(self._channel(request))
        return no_content()

    async def add_reaction(self, request: web.Request) -> web.Response:
        message_id = int(request.match_info["message_id"])
        self._ops.bot_react(self._channel(request), message_id, request.match_info["emoji"], add=True)
        return no_content()

    async def remove_reaction(self, request: web.Request) -> web.Response:
        message_id = int(request.match_info["message_id"])
        self._ops.bot_react(self._channel(request), message_id, request.match_info["emoji"], add=False)
        return no_content()

    # -- CDN -------------------------------------------------------------------------------

    async def get_attachment(self, request: web.Request) -> web.Response:
        """Serve an uploaded file, so ``Attachment.read()`` works (no auth, like Discord's CDN)."""
        upload = self._world.messages.file(
            int(request.match_info["channel_id"]), int(request.match_info["attachment_id"])
        )
        if upload is None or upload.filename != request.match_info["filename"]:
            raise web.HTTPNotFound()
        return web.Response(body=upload.data, headers={"Content-Type": upload.content_type})


def _api_path(request: web.Request) -> str:
    """The request path without its API version prefix, e.g. ``/channels/123/messages``."""
    for prefix in API_PREFIXES:
        if request.path.startswith(prefix + "/"):
            return request.path[len(prefix) :]
    return request.path


def _route_template(request: web.Request) -> str:
    """The matched route without its API version prefix, e.g. ``/channels/{channel_id}/messages``."""
    resource = request.match_info.route.resource
    template = resource.canonical if resource is not None else request.path
    for prefix in API_PREFIXES:
        if template.startswith(prefix):
            return template[len(prefix) :]
    return template


def _gateway_url(request: web.Request) -> str:
    scheme = "wss" if request.secure else "ws"
    return f"{scheme}://{request.host}/gateway"
