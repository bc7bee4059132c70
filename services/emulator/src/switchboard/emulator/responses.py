"""HTTP response helpers that produce exactly what discord.py expects.

discord.py decodes a body as JSON only when ``Content-Type`` is exactly
``application/json``; aiohttp's ``json_response`` appends ``; charset=utf-8``,
so responses are assembled here instead.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from .errors import DiscordError

JSON_CONTENT_TYPE = "application/json"


def json_response(data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    body = json.dumps(data, separators=(",", ":")).encode()
    return web.Response(status=status, body=body, headers={"Content-Type": JSON_CONTENT_TYPE, **(headers or {})})


def error_response(error: DiscordError) -> web.Response:
    return json_response(error.body(), status=error.status)


def no_content() -> web.Response:
    return web.Response(status=204)
