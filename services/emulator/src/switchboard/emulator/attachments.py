"""Files users attach, given to the control API as JSON.

A file is ``{"filename", "data" (base64), "content_type"?, "width"?,
"height"?, "description"?}`` (in-process callers may give ``data`` as
bytes); it becomes an :class:`~.messages.Upload` that the
emulator serves at the attachment's ``url``, so discord.py's
``Attachment.read()`` fetches the very bytes given.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from . import errors
from .messages import Upload

MAX_FILENAME_LENGTH = 1024


def upload_from_spec(spec: Any, path: str, served_from: str) -> Upload:
    """The upload ``spec`` describes; raises 400 Invalid Form Body pointing at ``path`` otherwise."""
    if not isinstance(spec, dict):
        raise errors.invalid_form_body(path, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
    filename = spec.get("filename")
    if not isinstance(filename, str) or not 1 <= len(filename) <= MAX_FILENAME_LENGTH or "/" in filename:
        raise errors.invalid_form_body(f"{path}.filename", "BASE_TYPE_BAD_LENGTH", "A file name is required.")
    raw = spec.get("data", "")
    try:
        data = bytes(raw) if isinstance(raw, bytes | bytearray) else base64.b64decode(raw, validate=True)
    except (binascii.Error, TypeError, ValueError):
        raise errors.invalid_form_body(f"{path}.data", "BASE64_INVALID", "data must be base64.") from None
    content_type = spec.get("content_type")
    if content_type is not None and not isinstance(content_type, str):
        raise errors.invalid_form_body(f"{path}.content_type", "BASE_TYPE_STRING", "Must be a string.")
    width, height = spec.get("width"), spec.get("height")
    for name, value in (("width", width), ("height", height)):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
            raise errors.invalid_form_body(f"{path}.{name}", "NUMBER_TYPE_COERCE", "Must be a non-negative integer.")
    description = spec.get("description")
    return Upload(
        filename,
        data,
        description=description if isinstance(description, str) else None,
        served_from=served_from,
        declared_content_type=content_type,
        width=width,
        height=height,
    )


def uploads_from_specs(specs: Any, served_from: str) -> list[Upload]:
    """Uploads for a list of specs (``attachments`` of an injected message); None means none."""
    if specs is None:
        return []
    if not isinstance(specs, list):
        raise errors.invalid_form_body("attachments", "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType.")
    return [upload_from_spec(spec, f"attachments.{index}", served_from) for index, spec in enumerate(specs)]
