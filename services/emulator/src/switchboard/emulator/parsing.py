"""Reading REST request bodies and query strings the way Discord validates them.

Bodies are JSON, or ``multipart/form-data`` with a ``payload_json`` part and
``files[n]`` parts (how discord.py uploads files). Bad input raises the
``DiscordError`` Discord would answer with.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import BodyPartReader, web

from . import errors
from .messages import MessageDraft, Upload
from .models import Channel, User

# Request fields kept verbatim on the stored message for test assertions.
RECORDED_FIELDS = (
    "nonce",
    "enforce_nonce",
    "allowed_mentions",
    "message_reference",
    "tts",
    "flags",
    "attachments",
)
MAX_NONCE_LENGTH = 25


async def read_body(request: web.Request) -> tuple[dict[str, Any], list[Upload]]:
    """The JSON object of the request and any uploaded files."""
    if request.content_type == "multipart/form-data":
        return await _read_multipart(request)
    raw = await request.read()
    if not raw.strip():
        return {}, []
    return _json_object(raw), []


async def _read_multipart(request: web.Request) -> tuple[dict[str, Any], list[Upload]]:
    body: dict[str, Any] = {}
    files: list[tuple[str, Upload]] = []
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):
            continue
        if part.name == "payload_json":
            body = _json_object(await part.read())
        elif part.filename is not None:
            upload = Upload(part.filename, bytes(await part.read()), served_from=f"{request.scheme}://{request.host}")
            files.append((part.name or "", upload))
    return body, _describe_uploads(body, files)


def _describe_uploads(body: dict[str, Any], files: list[tuple[str, Upload]]) -> list[Upload]:
    # payload_json's "attachments" entries refer to files[n] by id n and may
    # carry a description (and a replacement filename). An interaction
    # callback nests them in its "data".
    data = body.get("data") if isinstance(body.get("data"), dict) else body
    described = {str(a.get("id")): a for a in data.get("attachments") or [] if isinstance(a, dict)}
    uploads = []
    for field_name, upload in files:
        index = field_name.removeprefix("files[").removesuffix("]")
        meta = described.get(index, {})
        upload.description = meta.get("description")
        upload.filename = meta.get("filename") or upload.filename
        uploads.append(upload)
    return uploads


async def read_json_value(request: web.Request) -> Any:
    """The request's JSON body, whatever its type (a list for bulk command overwrites)."""
    try:
        return json.loads(await request.read())
    except ValueError:
        raise errors.invalid_json() from None


def _json_object(raw: bytes | bytearray) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except ValueError:
        raise errors.invalid_json() from None
    if not isinstance(value, dict):
        raise errors.invalid_json()
    return value


def message_draft(channel: Channel, author: User, body: dict[str, Any], uploads: list[Upload]) -> MessageDraft:
    """A draft from the body of ``POST /channels/{id}/messages``."""
    reply_to, fail_if_missing = _reference(body.get("message_reference"))
    content = body.get("content")
    return MessageDraft(
        channel=channel,
        author=author,
        content="" if content is None else content,
        reply_to=reply_to,
        fail_if_not_exists=fail_if_missing,
        nonce=_nonce(body.get("nonce")),
        enforce_nonce=bool(body.get("enforce_nonce", False)),
        allowed_mentions=_allowed_mentions(body.get("allowed_mentions")),
        embeds=body.get("embeds") or [],
        components=body.get("components") or [],
        uploads=uploads,
        tts=bool(body.get("tts", False)),
        flags=_int(body.get("flags") or 0, "flags"),
        request={key: body[key] for key in RECORDED_FIELDS if key in body},
    )


def _reference(value: Any) -> tuple[int | None, bool]:
    if value is None:
        return None, True
    if not isinstance(value, dict):
        raise errors.invalid_form_body(
            "message_reference", "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType"
        )
    message_id = value.get("message_id")
    if message_id is None:
        return None, True
    return _int(message_id, "message_reference.message_id"), bool(value.get("fail_if_not_exists", True))


def _nonce(value: Any) -> str | int | None:
    if value is None or isinstance(value, int):
        return value
    if isinstance(value, str) and len(value) <= MAX_NONCE_LENGTH:
        return value
    raise errors.invalid_form_body(
        "nonce", "BASE_TYPE_BAD_LENGTH", f"Must be between 0 and {MAX_NONCE_LENGTH} in length."
    )


def _allowed_mentions(value: Any) -> dict[str, Any] | None:
    if value is None or isinstance(value, dict):
        return value
    raise errors.invalid_form_body(
        "allowed_mentions", "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType"
    )


def _int(value: Any, field_path: str) -> int:
    if isinstance(value, bool):
        raise errors.invalid_form_body(field_path, "NUMBER_TYPE_COERCE", f'Value "{value}" is not int.')
    try:
        return int(value)
    except (TypeError, ValueError):
        raise errors.invalid_form_body(field_path, "NUMBER_TYPE_COERCE", f'Value "{value}" is not int.') from None


def query_int(request: web.Request, name: str, default: int | None = None) -> int | None:
    """An integer (or snowflake) query parameter, ``default`` when absent."""
    value = request.query.get(name)
    if value is None or value == "":
        return default
    return _int(value, name)
