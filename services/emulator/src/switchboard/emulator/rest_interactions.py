"""REST routes of application commands, interaction callbacks and interaction webhooks.

* ``GET/PUT /applications/{id}/commands`` and
  ``GET/PUT /applications/{id}/guilds/{guild_id}/commands`` (bulk overwrite,
  what ``CommandTree.sync()`` uses), plus ``GET .../commands/{command_id}``;
* ``POST /interactions/{id}/{token}/callback`` (``?with_response=1`` returns
  the callback response object, otherwise 204);
* ``POST /webhooks/{application_id}/{token}`` (followup; ``?wait=1`` returns
  the message, otherwise 204) and ``GET/PATCH/DELETE
  /webhooks/{application_id}/{token}/messages/{@original|message_id}``.

The interaction and webhook routes need no bot token (their URL carries
one), like Discord's. Semantics live in ``interactions`` and ``commands``.
"""

from __future__ import annotations

from aiohttp import web

from . import errors, parsing
from .commands import CommandRegistry
from .events import ActionLog
from .interactions import Interactions
from .responses import json_response, no_content
from .state import World

_TRUE = ("1", "true", "True")


class InteractionRoutes:
    """Handlers for the routes above; ``routes()`` lists them for ``RestApi``."""

    def __init__(self, world: World, commands: CommandRegistry, interactions: Interactions, actions: ActionLog):
        self._world = world
        self._commands = commands
        self._interactions = interactions
        self._actions = actions

    def routes(self) -> list[tuple[str, str, object]]:
        application = r"/applications/{application_id:\d+}"
        guild_commands = application + r"/guilds/{guild_id:\d+}/commands"
        webhook = r"/webhooks/{application_id:\d+}/{webhook_token}"
        webhook_message = webhook + r"/messages/{message_ref:(@original|\d+)}"
        return [
            ("GET", application + "/commands", self.list_commands),
            ("PUT", application + "/commands", self.overwrite_commands),
            ("GET", application + r"/commands/{command_id:\d+}", self.get_command),
            ("GET", guild_commands, self.list_commands),
            ("PUT", guild_commands, self.overwrite_commands),
            ("GET", guild_commands + r"/{command_id:\d+}", self.get_command),
            ("POST", r"/interactions/{interaction_id:\d+}/{interaction_token}/callback", self.callback),
            ("POST", webhook, self.create_followup),
            ("GET", webhook_message, self.get_message),
            ("PATCH", webhook_message, self.edit_message),
            ("DELETE", webhook_message, self.delete_message),
        ]

    # -- application commands ----------------------------------------------------------

    def _scope(self, request: web.Request) -> int | None:
        """The guild id of a guild-command route (None for global ones), checked."""
        if int(request.match_info["application_id"]) != self._world.bot.id:
            raise errors.unknown_application()
        guild_id = request.match_info.get("guild_id")
        if guild_id is None:
            return None
        if int(guild_id) not in self._world.guilds:
            raise errors.missing_access()  # what Discord answers for a guild the bot is not in
        return int(guild_id)

    async def list_commands(self, request: web.Request) -> web.Response:
        return json_response([c.payload() for c in self._commands.list(self._scope(request))])

    async def get_command(self, request: web.Request) -> web.Response:
        command = self._commands.get(self._scope(request), int(request.match_info["command_id"]))
        return json_response(command.payload())

    async def overwrite_commands(self, request: web.Request) -> web.Response:
        scope = self._scope(request)
        body = await parsing.read_json_value(request)
        registered = self._commands.bulk_overwrite(scope, body)
        self._actions.record(
            "commands_registered",
            None,
            guild_id=str(scope) if scope is not None else None,
            commands=[c.summary() for c in registered],
        )
        return json_response([c.payload() for c in registered])

    # -- interactions --------------------------------------------------------------------

    async def callback(self, request: web.Request) -> web.Response:
        body, uploads = await parsing.read_body(request)
        response = self._interactions.callback(
            int(request.match_info["interaction_id"]), request.match_info["interaction_token"], body, uploads
        )
        if request.query.get("with_response") in _TRUE:
            return json_response(response)
        return no_content()

    async def create_followup(self, request: web.Request) -> web.Response:
        body, uploads = await parsing.read_body(request)
        message = self._interactions.create_followup(
            int(request.match_info["application_id"]), request.match_info["webhook_token"], body, uploads
        )
        return json_response(message) if request.query.get("wait") in _TRUE else no_content()

    async def get_message(self, request: web.Request) -> web.Response:
        application_id, token, ref = _webhook_message(request)
        return json_response(self._interactions.get_message(application_id, token, ref))

    async def edit_message(self, request: web.Request) -> web.Response:
        application_id, token, ref = _webhook_message(request)
        body, uploads = await parsing.read_body(request)
        return json_response(self._interactions.edit_message(application_id, token, ref, body, uploads))

    async def delete_message(self, request: web.Request) -> web.Response:
        application_id, token, ref = _webhook_message(request)
        self._interactions.delete_message(application_id, token, ref)
        return no_content()


def _webhook_message(request: web.Request) -> tuple[int, str, str]:
    info = request.match_info
    return int(info["application_id"]), info["webhook_token"], info["message_ref"]
