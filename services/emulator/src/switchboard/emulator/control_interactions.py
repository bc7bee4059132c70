"""Control API routes for commands, interactions and injected failures.

Installed by :class:`~switchboard.emulator.control.ControlApi` (which also
turns errors into ``{"error", "code"}``); the endpoints and bodies are
listed in its docstring and in the README. Interactions are reported as
``Interactions.view`` builds them.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aiohttp import web

from . import errors
from .responses import json_response

if TYPE_CHECKING:
    from .server import Emulator


async def json_body(request: web.Request) -> dict[str, Any]:
    """The request's JSON object (``{}`` for an empty body); 400 otherwise."""
    raw = await request.read()
    try:
        body = json.loads(raw) if raw.strip() else {}
    except ValueError:
        raise errors.invalid_json() from None
    if not isinstance(body, dict):
        raise errors.invalid_json()
    return body


def install_interaction_routes(app: web.Application, prefix: str, emulator: Emulator) -> None:
    """Add the routes of this module under ``prefix`` (``/_emulator``)."""
    routes = _Routes(emulator)
    for method, path, handler in (
        ("GET", "/commands", routes.commands),
        ("POST", "/interactions", routes.invoke),
        ("GET", r"/interactions/{interaction_id:\d+}", routes.interaction),
        ("POST", r"/interactions/{interaction_id:\d+}/modal", routes.submit_modal),
        ("POST", "/components", routes.click_component),
        ("POST", "/faults", routes.add_fault),
        ("GET", "/faults", routes.faults),
        ("DELETE", "/faults", routes.clear_faults),
    ):
        app.router.add_route(method, prefix + path, handler)


class _Routes:
    def __init__(self, emulator: Emulator):
        self._emulator = emulator

    async def commands(self, request: web.Request) -> web.Response:
        return json_response(self._emulator.registered_commands())

    async def invoke(self, request: web.Request) -> web.Response:
        body = await json_body(request)
        interaction_id = self._emulator.invoke(body, f"{request.scheme}://{request.host}")
        return json_response(self._emulator.interaction(interaction_id), status=201)

    async def interaction(self, request: web.Request) -> web.Response:
        return json_response(self._emulator.interaction(request.match_info["interaction_id"]))

    async def submit_modal(self, request: web.Request) -> web.Response:
        body = await json_body(request)
        values = body.get("values")
        if not isinstance(values, dict):
            raise errors.invalid_form_body("values", "DICT_TYPE_CONVERT", "values must be an object")
        submitted = self._emulator.submit_modal(request.match_info["interaction_id"], values, user=body.get("user"))
        return json_response(self._emulator.interaction(submitted), status=201)

    async def click_component(self, request: web.Request) -> web.Response:
        body = await json_body(request)
        message_id, custom_id = str(body.get("message_id") or ""), body.get("custom_id")
        if not message_id.isdigit():
            raise errors.invalid_form_body("message_id", "BASE_TYPE_REQUIRED", "A message id is required")
        if not isinstance(custom_id, str):
            raise errors.invalid_form_body("custom_id", "BASE_TYPE_REQUIRED", "A custom_id is required")
        interaction_id = self._emulator.click_component(
            message_id,
            custom_id,
            values=body.get("values"),
            user=body.get("user", "alice"),
            permissions=body.get("permissions"),
        )
        return json_response(self._emulator.interaction(interaction_id), status=201)

    async def add_fault(self, request: web.Request) -> web.Response:
        body = await json_body(request)
        return json_response(self._emulator.faults.arm(body).view(), status=201)

    async def faults(self, request: web.Request) -> web.Response:
        faults = self._emulator.faults
        return json_response({"faults": faults.pending(), "injected": faults.injected})

    async def clear_faults(self, request: web.Request) -> web.Response:
        return json_response({"cleared": self._emulator.clear_faults()})
