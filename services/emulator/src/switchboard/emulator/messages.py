"""Messages: creation, validation, nonce de-duplication, edits, deletion, history.

Each stored message keeps three things apart:

* ``payload``: the message object exactly as Discord would send it;
* ``request``: the fields the sender put in its request body (nonce,
  allowed_mentions, message_reference, ...), kept verbatim for assertions;
* ``edits``: every edit in order, each ``{"content", "embeds", "time"}``.

Reactions live on the message too (``reactions``), with who reacted.
Messages that only their recipient may see (ephemeral interaction responses)
are built the same way but not stored: ``create(draft, store=False)``.
"""

from __future__ import annotations

import copy
import mimetypes
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from . import errors, mentions
from .models import MESSAGE_DEFAULT, MESSAGE_REPLY, Channel, User
from .reactions import Emoji, ReactionSet
from .snowflake import iso_timestamp

if TYPE_CHECKING:
    from .state import World

MAX_CONTENT_LENGTH = 2000
MAX_EMBEDS = 10
MAX_HISTORY_LIMIT = 100
# Message flags a sender may set: SUPPRESS_EMBEDS, SUPPRESS_NOTIFICATIONS,
# IS_VOICE_MESSAGE, IS_COMPONENTS_V2. Discord ignores the rest.
SETTABLE_FLAGS = (1 << 2) | (1 << 12) | (1 << 13) | (1 << 15)


@dataclass
class Upload:
    """A file sent with a message (multipart ``files[n]``, or given to the control API)."""

    filename: str
    data: bytes
    description: str | None = None
    #: ``scheme://host`` the uploader reached the emulator at; attachment URLs
    #: use it so they work from wherever the uploader runs (e.g. in a container).
    served_from: str = ""
    #: The content type the uploader declared; guessed from the filename otherwise.
    declared_content_type: str | None = None
    #: Image dimensions, reported on the attachment when known.
    width: int | None = None
    height: int | None = None

    @property
    def content_type(self) -> str:
        return self.declared_content_type or mimetypes.guess_type(self.filename)[0] or "application/octet-stream"


def attachment_payload(channel_id: int, attachment_id: int, upload: Upload) -> dict[str, Any]:
    """The attachment object of ``upload``; its ``url`` is served by the emulator itself."""
    url = f"{upload.served_from}/attachments/{channel_id}/{attachment_id}/{urllib.parse.quote(upload.filename)}"
    data: dict[str, Any] = {
        "id": str(attachment_id),
        "filename": upload.filename,
        "size": len(upload.data),
        "url": url,
        "proxy_url": url,
        "content_type": upload.content_type,
    }
    if upload.width is not None and upload.height is not None:
        data["width"], data["height"] = upload.width, upload.height
    if upload.description is not None:
        data["description"] = upload.description
    return data


@dataclass
class MessageDraft:
    """What a sender asks to post; ``MessageStore.create`` turns it into a message."""

    channel: Channel
    author: User
    content: str = ""
    reply_to: int | None = None
    fail_if_not_exists: bool = True
    nonce: str | int | None = None
    enforce_nonce: bool = False
    allowed_mentions: dict[str, Any] | None = None
    embeds: list[dict[str, Any]] = field(default_factory=list)
    components: list[dict[str, Any]] = field(default_factory=list)
    uploads: list[Upload] = field(default_factory=list)
    tts: bool = False
    flags: int = 0
    request: dict[str, Any] = field(default_factory=dict)
    #: Message type when not a plain message or reply (interaction responses: 20, 23).
    message_type: int | None = None
    #: Flags the sender may set; interaction responses may also set EPHEMERAL and LOADING.
    flag_mask: int = 0
    #: Allows an empty message (an interaction's "thinking" placeholder).
    allow_empty: bool = False
    #: Fields merged into the payload as given (``webhook_id``, ``interaction_metadata``, ...).
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class StoredMessage:
    """A message as the emulator remembers it (see the module docstring)."""

    payload: dict[str, Any]
    request: dict[str, Any]
    created_content: str = ""
    edits: list[dict[str, Any]] = field(default_factory=list)
    files: dict[int, Upload] = field(default_factory=dict)
    reactions: ReactionSet = field(default_factory=ReactionSet)
    #: Whose ``me`` the reaction objects report (the bot's id once anyone reacted).
    reactions_seen_by: int = 0

    @property
    def id(self) -> int:
        return int(self.payload["id"])

    @property
    def channel_id(self) -> int:
        return int(self.payload["channel_id"])

    @property
    def author_id(self) -> int:
        return int(self.payload["author"]["id"])

    def view(self) -> dict[str, Any]:
        """The message as the control API returns it.

        Discord's payload plus ``created_content`` (the content before any
        edit), ``edits``, ``request``, ``allowed_mentions`` (lifted out of
        ``request``; None when the sender gave none) and ``reactions``
        (Discord's reaction objects, each with ``user_ids`` added; ``[]`` when none).
        """
        return {
            **copy.deepcopy(self.payload),
            "created_content": self.created_content,
            "edits": copy.deepcopy(self.edits),
            "request": copy.deepcopy(self.request),
            "allowed_mentions": copy.deepcopy(self.request.get("allowed_mentions")),
            "reactions": self.reactions.view(self.reactions_seen_by),
        }


class MessageStore:
    """All messages of a world, indexed by id and by channel (in id order)."""

    def __init__(self, world: World, nonce_window_s: float, clock: Callable[[], float] = time.monotonic):
        self._world = world
        self._nonce_window_s = nonce_window_s
        self._clock = clock
        self._by_id: dict[int, StoredMessage] = {}
        self._by_channel: dict[int, list[int]] = {}
        self._nonces: dict[tuple[int, int, str], tuple[int, float]] = {}
        # Files not attached to a stored message (ephemeral messages, command
        # option attachments): attachment id -> (channel id, upload).
        self._loose_files: dict[int, tuple[int, Upload]] = {}

    # -- creation ----------------------------------------------------------------

    def create(self, draft: MessageDraft, *, store: bool = True) -> tuple[StoredMessage, bool]:
        """Store ``draft`` as a new message; returns ``(message, created)``.

        With ``enforce_nonce`` and a nonce this author already used in this
        channel within the nonce window, returns the earlier message and
        ``created=False`` instead, as Discord does. With ``store=False`` the
        message is built (and its files served) but not kept in the channel:
        that is how ephemeral messages exist.
        """
        _validate_new(draft)
        nonce_key = self._nonce_key(draft)
        if nonce_key is not None:
            earlier = self._nonce_hit(nonce_key)
            if earlier is not None:
                return earlier, False
        reference = self._resolve_reference(draft)
        message_id = self._world.snowflakes.next()
        payload = self._build_payload(message_id, draft, reference)
        message = StoredMessage(payload, copy.deepcopy(draft.request), created_content=draft.content)
        self._attach_uploads(message, draft.uploads, loose=not store)
        if not store:
            return message, True
        self._by_id[message_id] = message
        self._by_channel.setdefault(draft.channel.id, []).append(message_id)
        draft.channel.note_message(message_id)
        if nonce_key is not None:
            self._nonces[nonce_key] = (message_id, self._clock())
        return message, True

    def _nonce_key(self, draft: MessageDraft) -> tuple[int, int, str] | None:
        if not draft.enforce_nonce or draft.nonce in (None, ""):
            return None
        return (draft.channel.id, draft.author.id, str(draft.nonce))

    def _nonce_hit(self, key: tuple[int, int, str]) -> StoredMessage | None:
        entry = self._nonces.get(key)
        if entry is None:
            return None
        message_id, stamped = entry
        if self._clock() - stamped > self._nonce_window_s or message_id not in self._by_id:
            del self._nonces[key]
            return None
        return self._by_id[message_id]

    def _resolve_reference(self, draft: MessageDraft) -> StoredMessage | None:
        if draft.reply_to is None:
            return None
        target = self._by_id.get(draft.reply_to)
        if target is not None and target.channel_id == draft.channel.id:
            return target
        if draft.fail_if_not_exists:
            raise errors.invalid_form_body("message_reference", "MESSAGE_REFERENCE_UNKNOWN_MESSAGE", "Unknown message")
        return None

    def _build_payload(self, message_id: int, draft: MessageDraft, reference: StoredMessage | None) -> dict[str, Any]:
        channel, author = draft.channel, draft.author
        payload: dict[str, Any] = {"id": str(message_id), "channel_id": str(channel.id)}
        if not channel.is_dm:
            payload["guild_id"] = str(channel.guild_id)
        payload["author"] = author.payload()
        if not channel.is_dm and author.id in self._world.guilds[channel.guild_id].members:
            payload["member"] = self._world.member_payload(author.id, channel.guild_id, with_user=False)
        payload.update(
            content=draft.content,
            timestamp=iso_timestamp(message_id),
            edited_timestamp=None,
            tts=draft.tts,
            attachments=[],
            embeds=[_normalise_embed(e) for e in draft.embeds],
            components=copy.deepcopy(draft.components),
            pinned=False,
            type=draft.message_type
            if draft.message_type is not None
            else MESSAGE_REPLY
            if reference
            else MESSAGE_DEFAULT,
            flags=draft.flags & (SETTABLE_FLAGS | draft.flag_mask),
        )
        payload.update(copy.deepcopy(draft.extra))
        self._apply_mentions(payload, channel, draft.allowed_mentions, reference)
        if draft.nonce not in (None, ""):
            payload["nonce"] = draft.nonce
        if reference is not None:
            payload["message_reference"] = _reference_of(reference)
            payload["referenced_message"] = _without_reference(reference.payload)
        return payload

    def _apply_mentions(
        self,
        payload: dict[str, Any],
        channel: Channel,
        allowed: dict[str, Any] | None,
        reference: StoredMessage | None,
    ) -> None:
        role_ids = [role.id for role in self._world.guilds[channel.guild_id].roles] if not channel.is_dm else []
        found = mentions.resolve(payload["content"], allowed, self._world.users.keys(), role_ids)
        user_ids = list(found.user_ids)
        # A reply mentions the replied-to author (unless suppressed), even
        # though the content does not contain their mention.
        if reference is not None and mentions.pings_replied_user(allowed) and reference.author_id not in user_ids:
            user_ids.append(reference.author_id)
        payload["mentions"] = [self._mention_payload(uid, channel) for uid in user_ids]
        payload["mention_roles"] = [str(role_id) for role_id in found.role_ids]
        payload["mention_everyone"] = found.everyone

    def _mention_payload(self, user_id: int, channel: Channel) -> dict[str, Any]:
        data = self._world.users[user_id].payload()
        if not channel.is_dm and user_id in self._world.guilds[channel.guild_id].members:
            data["member"] = self._world.member_payload(user_id, channel.guild_id, with_user=False)
        return data

    def _attach_uploads(self, message: StoredMessage, uploads: list[Upload], *, loose: bool = False) -> None:
        for upload in uploads:
            attachment_id = self._world.snowflakes.next()
            message.files[attachment_id] = upload
            if loose:
                self._loose_files[attachment_id] = (message.channel_id, upload)
            message.payload["attachments"].append(attachment_payload(message.channel_id, attachment_id, upload))

    def add_loose_file(self, channel_id: int, upload: Upload) -> dict[str, Any]:
        """Serve ``upload`` without a message (a command option's attachment); returns its attachment object."""
        attachment_id = self._world.snowflakes.next()
        self._loose_files[attachment_id] = (channel_id, upload)
        return attachment_payload(channel_id, attachment_id, upload)

    # -- edits and deletion ---------------------------------------------------------

    def edit(
        self, channel_id: int, message_id: int, editor: User, changes: dict[str, Any], uploads: list[Upload]
    ) -> StoredMessage:
        """Apply a PATCH body (``content``, ``embeds``, ``flags``, ``components``,
        ``attachments``, ``allowed_mentions``) to the editor's own message."""
        return self.edit_message(self.get(channel_id, message_id), editor, changes, uploads)

    def edit_message(
        self, message: StoredMessage, editor: User, changes: dict[str, Any], uploads: list[Upload]
    ) -> StoredMessage:
        """``edit`` for a message already at hand, stored or not (an ephemeral one)."""
        channel_id = message.channel_id
        if message.author_id != editor.id:
            raise errors.cannot_edit_others()
        payload = message.payload
        updated = _apply_changes(copy.deepcopy(payload), changes)
        _validate_content(updated["content"], updated["embeds"])
        if not (
            updated["content"].strip()
            or updated["embeds"]
            or updated["components"]
            or updated["attachments"]
            or uploads
        ):
            raise errors.empty_message()
        payload.update(updated)
        self._attach_uploads(message, uploads, loose=message.id not in self._by_id)
        allowed = changes.get("allowed_mentions", message.request.get("allowed_mentions"))
        reference = (
            self._by_id.get(int(payload["message_reference"]["message_id"])) if "message_reference" in payload else None
        )
        self._apply_mentions(payload, self._world.channel(channel_id), allowed, reference)
        now = datetime.now(UTC).isoformat(timespec="microseconds")
        payload["edited_timestamp"] = now
        message.edits.append({"content": payload["content"], "embeds": copy.deepcopy(payload["embeds"]), "time": now})
        return message

    def react(self, message: StoredMessage, emoji: Emoji, user_id: int, *, add: bool) -> bool:
        """Add or remove ``user_id``'s ``emoji`` reaction; False when nothing changed.

        The payload's ``reactions`` (absent when there are none, as on
        Discord) is kept in step, ``me`` meaning the bot.
        """
        changed = message.reactions.add(emoji, user_id) if add else message.reactions.remove(emoji, user_id)
        message.reactions_seen_by = self._world.bot.id
        if message.reactions:
            message.payload["reactions"] = message.reactions.payload(self._world.bot.id)
        else:
            message.payload.pop("reactions", None)
        return changed

    def delete(self, channel_id: int, message_id: int, deleter: User) -> StoredMessage:
        """Remove the deleter's own message (the bot has no Manage Messages permission)."""
        message = self.get(channel_id, message_id)
        if message.author_id != deleter.id:
            raise errors.missing_permissions()
        return self.remove(message)

    def remove(self, message: StoredMessage) -> StoredMessage:
        """Forget a stored message whoever deletes it (the caller checks who may)."""
        del self._by_id[message.id]
        self._by_channel[message.channel_id].remove(message.id)
        return message

    # -- queries -----------------------------------------------------------------

    def get(self, channel_id: int, message_id: int) -> StoredMessage:
        message = self._by_id.get(message_id)
        if message is None or message.channel_id != channel_id:
            raise errors.unknown_message()
        return message

    def find(self, message_id: int) -> StoredMessage | None:
        return self._by_id.get(message_id)

    def file(self, channel_id: int, attachment_id: int) -> Upload | None:
        """The uploaded file ``attachment_id`` of a message (or loose file) in ``channel_id``."""
        loose = self._loose_files.get(attachment_id)
        if loose is not None:
            return loose[1] if loose[0] == channel_id else None
        for message_id in self._by_channel.get(channel_id, []):
            upload = self._by_id[message_id].files.get(attachment_id)
            if upload is not None:
                return upload
        return None

    def history(
        self,
        channel_id: int,
        limit: int = 50,
        before: int | None = None,
        after: int | None = None,
        around: int | None = None,
    ) -> list[StoredMessage]:
        """Up to ``limit`` messages of a channel, newest first (Discord's order).

        ``before``/``after`` page backwards/forwards from an id; ``around``
        centres the page on an id (the message itself included).
        """
        if not 1 <= limit <= MAX_HISTORY_LIMIT:
            raise errors.invalid_form_body("limit", "NUMBER_TYPE_MAX", "int value should be between 1 and 100.")
        ids = self._by_channel.get(channel_id, [])
        if around is not None:
            half = limit // 2
            older = [i for i in ids if i < around]
            older = older[len(older) - half :] if half else []
            selected = older + [i for i in ids if i >= around][: limit - len(older)]
        elif after is not None:
            selected = [i for i in ids if i > after and (before is None or i < before)][:limit]
        else:
            selected = [i for i in ids if before is None or i < before][-limit:]
        return [self._by_id[i] for i in reversed(selected)]

    def all(self, channel_id: int | None = None, author_id: int | None = None) -> list[StoredMessage]:
        """Every stored message, oldest first, optionally of one channel and/or author."""
        # Insertion order is id order: ids only ever increase.
        return [
            m
            for m in self._by_id.values()
            if (channel_id is None or m.channel_id == channel_id) and (author_id is None or m.author_id == author_id)
        ]

    def clear(self) -> None:
        self._by_id.clear()
        self._by_channel.clear()
        self._nonces.clear()
        self._loose_files.clear()


def _validate_new(draft: MessageDraft) -> None:
    if not isinstance(draft.content, str):
        raise errors.invalid_form_body("content", "BASE_TYPE_STRING", "Must be a string.")
    _validate_content(draft.content, draft.embeds)
    if not (draft.allow_empty or draft.content.strip() or draft.embeds or draft.components or draft.uploads):
        raise errors.empty_message()


def _validate_content(content: Any, embeds: Any) -> None:
    if not isinstance(content, str):
        raise errors.invalid_form_body("content", "BASE_TYPE_STRING", "Must be a string.")
    if len(content) > MAX_CONTENT_LENGTH:
        raise errors.invalid_form_body(
            "content", "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_CONTENT_LENGTH} or fewer in length."
        )
    if not isinstance(embeds, list) or not all(isinstance(e, dict) for e in embeds):
        raise errors.invalid_form_body("embeds", "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType.")
    if len(embeds) > MAX_EMBEDS:
        raise errors.invalid_form_body("embeds", "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_EMBEDS} or fewer in length.")


def _apply_changes(payload: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    if "content" in changes:
        payload["content"] = changes["content"] if changes["content"] is not None else ""
    if "embeds" in changes:
        embeds = changes["embeds"] if changes["embeds"] is not None else []
        payload["embeds"] = [_normalise_embed(e) for e in embeds] if isinstance(embeds, list) else embeds
    if "components" in changes:
        payload["components"] = copy.deepcopy(changes["components"] or [])
    if "flags" in changes and changes["flags"] is not None:
        if not isinstance(changes["flags"], int) or isinstance(changes["flags"], bool):
            raise errors.invalid_form_body("flags", "NUMBER_TYPE_COERCE", f'Value "{changes["flags"]}" is not int.')
        payload["flags"] = changes["flags"] & SETTABLE_FLAGS
    if "attachments" in changes:
        # The body lists the attachments to keep; new uploads are added after.
        keep = {str(a.get("id")) for a in changes["attachments"] or [] if isinstance(a, dict)}
        payload["attachments"] = [a for a in payload["attachments"] if a["id"] in keep]
    return payload


def _normalise_embed(embed: Any) -> Any:
    if not isinstance(embed, dict):
        return embed
    # Discord stores every embed a bot sends as a "rich" embed.
    return {"type": "rich", **copy.deepcopy(embed)}


def _reference_of(message: StoredMessage) -> dict[str, Any]:
    reference = {"type": 0, "channel_id": str(message.channel_id), "message_id": str(message.id)}
    if "guild_id" in message.payload:
        reference["guild_id"] = message.payload["guild_id"]
    return reference


def _without_reference(payload: dict[str, Any]) -> dict[str, Any]:
    # Discord does not nest a referenced message's own referenced_message.
    return {k: copy.deepcopy(v) for k, v in payload.items() if k != "referenced_message"}
