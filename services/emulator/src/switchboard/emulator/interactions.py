"""Interactions after they are dispatched: callbacks, the original response, followups.

An interaction is opened by the control API (a user invoking a command,
clicking a component or submitting a modal) and dispatched as
INTERACTION_CREATE. From then on Discord's rules apply:

* the bot must answer (``POST /interactions/{id}/{token}/callback``) within
  ``interaction_response_deadline_s`` (3 s); later, or with a wrong token,
  the callback gets 404 Unknown interaction (10062); a second callback
  gets 400 (40060);
* callback types valid per interaction type: a command takes 4 (message),
  5 (deferred message) or 9 (modal); a component 4, 5, 6 (deferred update),
  7 (update its message) or 9; a modal submit 4, 5, 6 or 7. A PONG (1)
  answers only PING interactions, which Discord sends to HTTP endpoints and
  never over the gateway, so the emulator has none to answer. Other types
  are a 400 Invalid Form Body;
* the webhook routes (``/webhooks/{application_id}/{token}...``) work only
  after a response (404 Unknown Webhook, 10015, before) and while the
  token lives (``interaction_token_lifetime_s``, 15 min; 401 Invalid Webhook
  Token, 50027, after);
* the first followup after a deferred (5) response edits the "thinking"
  message instead of creating one, as Discord still does for compatibility;
* ephemeral messages (flag 64) are kept with the interaction only: they are
  not in channel history and not dispatched over the gateway.

Every accepted action is recorded in the action feed (``interaction_callback``,
``followup_create``, ``original_edit``, ...), every refused one as
``interaction_rejected``, and an interaction left unanswered past its
deadline as ``interaction_expired``.
"""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from . import errors
from .commands import RegisteredCommand
from .config import EmulatorConfig
from .errors import DiscordError
from .events import ActionLog
from .gateway import GatewayHub
from .messages import SETTABLE_FLAGS, MessageDraft, StoredMessage, Upload
from .models import MESSAGE_CHAT_INPUT_COMMAND, MESSAGE_CONTEXT_MENU_COMMAND, MESSAGE_DEFAULT, Channel, User
from .state import World

# Interaction types.
PING = 1
APPLICATION_COMMAND = 2
MESSAGE_COMPONENT = 3
MODAL_SUBMIT = 5
KIND_NAMES = {
    APPLICATION_COMMAND: "application_command",
    MESSAGE_COMPONENT: "message_component",
    MODAL_SUBMIT: "modal_submit",
}

# Callback types.
PONG = 1
CHANNEL_MESSAGE = 4
DEFERRED_CHANNEL_MESSAGE = 5
DEFERRED_UPDATE_MESSAGE = 6
UPDATE_MESSAGE = 7
MODAL = 9
VALID_CALLBACKS = {
    PING: frozenset({PONG}),
    APPLICATION_COMMAND: frozenset({CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, MODAL}),
    MESSAGE_COMPONENT: frozenset(
        {CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, DEFERRED_UPDATE_MESSAGE, UPDATE_MESSAGE, MODAL}
    ),
    MODAL_SUBMIT: frozenset({CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, DEFERRED_UPDATE_MESSAGE, UPDATE_MESSAGE}),
}

EPHEMERAL = 1 << 6
LOADING = 1 << 7
ORIGINAL = "@original"


@dataclass
class Interaction:
    """One dispatched interaction and everything the bot did with it."""

    id: int
    token: str
    type: int
    payload: dict[str, Any]
    channel: Channel
    user: User
    created_at: float
    created_time: str
    command: RegisteredCommand | None = None
    custom_id: str | None = None
    #: The message a component belongs to (what types 6 and 7 update).
    source_message: StoredMessage | None = None
    response_type: int | None = None
    callbacks: list[dict[str, Any]] = field(default_factory=list)
    original: StoredMessage | None = None
    original_deleted: bool = False
    followups: dict[int, StoredMessage] = field(default_factory=dict)
    deleted_followups: set[int] = field(default_factory=set)
    modal: dict[str, Any] | None = None
    #: The interaction that submitted ``modal``, once submitted.
    modal_submission: int | None = None
    expired: bool = False
    timer: asyncio.TimerHandle | None = None

    @property
    def guild_id(self) -> int | None:
        return self.channel.guild_id


class Interactions:
    """Open interactions by id and token, and the REST semantics of answering them."""

    def __init__(
        self,
        world: World,
        hub: GatewayHub,
        actions: ActionLog,
        config: EmulatorConfig,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._world = world
        self._hub = hub
        self._actions = actions
        self._config = config
        self._clock = clock
        self._by_id: dict[int, Interaction] = {}
        self._by_token: dict[str, Interaction] = {}

    # -- opening -----------------------------------------------------------------

    def open(
        self,
        payload: dict[str, Any],
        channel: Channel,
        user: User,
        *,
        command: RegisteredCommand | None = None,
        custom_id: str | None = None,
        source_message: StoredMessage | None = None,
    ) -> Interaction:
        """Remember the interaction described by ``payload``, start its deadline and dispatch it."""
        interaction = Interaction(
            id=int(payload["id"]),
            token=payload["token"],
            type=payload["type"],
            payload=payload,
            channel=channel,
            user=user,
            created_at=self._clock(),
            created_time=_now(),
            command=command,
            custom_id=custom_id,
            source_message=source_message,
        )
        self._by_id[interaction.id] = interaction
        self._by_token[interaction.token] = interaction
        loop = asyncio.get_running_loop()
        interaction.timer = loop.call_later(self._config.interaction_response_deadline_s, self._expire, interaction.id)
        self._hub.dispatch("INTERACTION_CREATE", payload, channel.guild_id)
        return interaction

    def _expire(self, interaction_id: int) -> None:
        interaction = self._by_id.get(interaction_id)
        if interaction is None or interaction.response_type is not None:
            return
        interaction.expired = True
        interaction.timer = None
        self._actions.record(
            "interaction_expired",
            interaction.channel.id,
            interaction_id=str(interaction.id),
            deadline_s=self._config.interaction_response_deadline_s,
        )

    def close(self) -> None:
        """Stop every pending deadline timer (the emulator is stopping)."""
        for interaction in self._by_id.values():
            if interaction.timer is not None:
                interaction.timer.cancel()
                interaction.timer = None

    def clear(self) -> None:
        self.close()
        self._by_id.clear()
        self._by_token.clear()

    # -- lookups -------------------------------------------------------------------

    def get(self, interaction_id: int) -> Interaction:
        interaction = self._by_id.get(interaction_id)
        if interaction is None:
            raise errors.unknown_interaction()
        return interaction

    def find_message(self, message_id: int) -> StoredMessage | None:
        """An interaction message by id, ephemeral ones included (their components can be clicked)."""
        for interaction in self._by_id.values():
            for message in (interaction.original, *interaction.followups.values()):
                if message is not None and message.id == message_id:
                    return message
        return None

    def view(self, interaction_id: int) -> dict[str, Any]:
        """The interaction as the control API reports it (see the README)."""
        interaction = self.get(interaction_id)
        answered = interaction.response_type is not None
        original = None
        if interaction.original is not None:
            original = {**interaction.original.view(), "deleted": self._deleted(interaction, interaction.original)}
        return {
            "id": str(interaction.id),
            "token": interaction.token,
            "type": interaction.type,
            "kind": KIND_NAMES.get(interaction.type, "unknown"),
            "command": interaction.command.summary() if interaction.command else None,
            "custom_id": interaction.custom_id,
            "user_id": str(interaction.user.id),
            "channel_id": str(interaction.channel.id),
            "guild_id": str(interaction.guild_id) if interaction.guild_id is not None else None,
            "created_at": interaction.created_time,
            "deadline_s": self._config.interaction_response_deadline_s,
            "state": "answered" if answered else "expired" if self._past_deadline(interaction) else "pending",
            "answered_in_time": answered,
            "token_expired": self._token_expired(interaction),
            "response_type": interaction.response_type,
            "callbacks": copy.deepcopy(interaction.callbacks),
            "original": original,
            "followups": [
                {**message.view(), "deleted": self._deleted(interaction, message)}
                for message in interaction.followups.values()
            ],
            "modal": copy.deepcopy(interaction.modal),
            "modal_submission": str(interaction.modal_submission) if interaction.modal_submission else None,
            "payload": copy.deepcopy(interaction.payload),
        }

    def _past_deadline(self, interaction: Interaction) -> bool:
        return (
            interaction.expired or self._clock() - interaction.created_at > self._config.interaction_response_deadline_s
        )

    def _token_expired(self, interaction: Interaction) -> bool:
        return self._clock() - interaction.created_at > self._config.interaction_token_lifetime_s

    # -- the callback ----------------------------------------------------------------

    def callback(self, interaction_id: int, token: str, body: dict[str, Any], uploads: list[Upload]) -> dict[str, Any]:
        """Answer an interaction; returns the callback response object (``with_response``)."""
        interaction = self._by_id.get(interaction_id)
        attempt = {"time": _now(), "type": body.get("type"), "data": copy.deepcopy(body.get("data"))}
        try:
            if interaction is None or interaction.token != token:
                raise errors.unknown_interaction()
            if interaction.response_type is not None:
                raise errors.already_acknowledged()
            if self._past_deadline(interaction):
                raise errors.unknown_interaction()
            callback_type = body.get("type")
            if callback_type not in VALID_CALLBACKS.get(interaction.type, frozenset()):
                raise errors.invalid_form_body(
                    "type",
                    "INTERACTION_CALLBACK_TYPE_INVALID",
                    "Invalid interaction callback type for this interaction",
                )
            data = body.get("data") or {}
            if not isinstance(data, dict):
                raise errors.invalid_form_body(
                    "data", "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType"
                )
            message = self._answer(interaction, callback_type, data, uploads)
        except DiscordError as exc:
            if interaction is not None and interaction.token == token:
                interaction.callbacks.append({**attempt, "status": exc.status, "code": exc.code})
            self._reject(interaction if interaction and interaction.token == token else None, "callback", exc)
            raise
        interaction.callbacks.append({**attempt, "status": 200, "code": None})
        interaction.response_type = callback_type
        if interaction.timer is not None:
            interaction.timer.cancel()
            interaction.timer = None
        self._actions.record(
            "interaction_callback",
            interaction.channel.id,
            message.id if message else None,
            message.payload["content"] if message else None,
            interaction_id=str(interaction.id),
            callback_type=callback_type,
            flags=message.payload["flags"] if message else None,
            ephemeral=_is_ephemeral(message),
        )
        return self._callback_response(interaction, callback_type, message)

    def _answer(
        self, interaction: Interaction, callback_type: int, data: dict[str, Any], uploads: list[Upload]
    ) -> StoredMessage | None:
        if callback_type == CHANNEL_MESSAGE:
            interaction.original = self._post(interaction, data, uploads, original=True)
            return interaction.original
        if callback_type == DEFERRED_CHANNEL_MESSAGE:
            placeholder = {"content": "", "flags": _int_flags(data)}
            interaction.original = self._post(interaction, placeholder, [], original=True, loading=True)
            return interaction.original
        if callback_type in (DEFERRED_UPDATE_MESSAGE, UPDATE_MESSAGE):
            source = interaction.source_message
            if source is None:
                raise errors.unknown_message()
            if callback_type == UPDATE_MESSAGE:
                self._edit(source, data, uploads)
            interaction.original = source
            return source
        interaction.modal = _validated_modal(data)
        return None

    def _callback_response(
        self, interaction: Interaction, callback_type: int, message: StoredMessage | None
    ) -> dict[str, Any]:
        summary: dict[str, Any] = {"id": str(interaction.id), "type": interaction.type}
        resource: dict[str, Any] = {"type": callback_type}
        if message is not None:
            summary.update(
                response_message_id=str(message.id),
                response_message_loading=bool(message.payload["flags"] & LOADING),
                response_message_ephemeral=_is_ephemeral(message),
            )
            if callback_type != DEFERRED_UPDATE_MESSAGE:
                resource["message"] = copy.deepcopy(message.payload)
        return {"interaction": summary, "resource": resource}

    # -- webhook routes: original response and followups -------------------------------

    def webhook(self, application_id: int, token: str) -> Interaction:
        """The interaction whose token a webhook route names, if the route may be used now."""
        if application_id != self._world.bot.id:
            raise errors.unknown_webhook()
        interaction = self._by_token.get(token)
        if interaction is None:
            raise errors.unknown_webhook()
        if self._token_expired(interaction):
            raise errors.invalid_webhook_token()
        if interaction.response_type is None:
            raise errors.unknown_webhook()
        return interaction

    def get_message(self, application_id: int, token: str, ref: str) -> dict[str, Any]:
        """``GET /webhooks/{app}/{token}/messages/{@original|id}``."""
        interaction = self._guarded(application_id, token, "message")
        return copy.deepcopy(self._message(interaction, ref, "message").payload)

    def create_followup(
        self, application_id: int, token: str, body: dict[str, Any], uploads: list[Upload]
    ) -> dict[str, Any]:
        """``POST /webhooks/{app}/{token}``: a followup message (or, after a defer, the deferred one)."""
        interaction = self._guarded(application_id, token, "followup")
        original = interaction.original
        try:
            if (
                interaction.response_type == DEFERRED_CHANNEL_MESSAGE
                and original is not None
                and not self._deleted(interaction, original)
                and original.payload["flags"] & LOADING
            ):
                message = self._edit(original, body, uploads)
                edited_original = True
            else:
                message = self._post(interaction, body, uploads, original=False)
                interaction.followups[message.id] = message
                edited_original = False
        except DiscordError as exc:
            self._reject(interaction, "followup", exc)
            raise
        self._actions.record(
            "followup_create",
            interaction.channel.id,
            message.id,
            message.payload["content"],
            interaction_id=str(interaction.id),
            flags=message.payload["flags"],
            ephemeral=_is_ephemeral(message),
            edited_original=edited_original,
        )
        return copy.deepcopy(message.payload)

    def edit_message(
        self, application_id: int, token: str, ref: str, body: dict[str, Any], uploads: list[Upload]
    ) -> dict[str, Any]:
        """``PATCH /webhooks/{app}/{token}/messages/{@original|id}``."""
        interaction = self._guarded(application_id, token, "message")
        message = self._message(interaction, ref, "message")
        try:
            self._edit(message, body, uploads)
        except DiscordError as exc:
            self._reject(interaction, "message", exc)
            raise
        kind = "original_edit" if message is interaction.original else "followup_edit"
        self._actions.record(
            kind, interaction.channel.id, message.id, message.payload["content"], interaction_id=str(interaction.id)
        )
        return copy.deepcopy(message.payload)

    def delete_message(self, application_id: int, token: str, ref: str) -> None:
        """``DELETE /webhooks/{app}/{token}/messages/{@original|id}``."""
        interaction = self._guarded(application_id, token, "message")
        message = self._message(interaction, ref, "message")
        is_original = message is interaction.original
        if self._world.messages.find(message.id) is message:
            self._world.messages.delete(message.channel_id, message.id, self._world.bot)
            data = {"id": str(message.id), "channel_id": str(message.channel_id)}
            if interaction.guild_id is not None:
                data["guild_id"] = str(interaction.guild_id)
            self._hub.dispatch("MESSAGE_DELETE", data, interaction.guild_id)
        if is_original:
            interaction.original_deleted = True
        else:
            interaction.deleted_followups.add(message.id)
        kind = "original_delete" if is_original else "followup_delete"
        self._actions.record(kind, interaction.channel.id, message.id, interaction_id=str(interaction.id))

    def _guarded(self, application_id: int, token: str, route: str) -> Interaction:
        try:
            return self.webhook(application_id, token)
        except DiscordError as exc:
            self._reject(self._by_token.get(token), route, exc)
            raise

    def _message(self, interaction: Interaction, ref: str, route: str) -> StoredMessage:
        message: StoredMessage | None
        if ref == ORIGINAL:
            message = interaction.original
        else:
            message_id, original = int(ref), interaction.original
            if original is not None and original.id == message_id:
                message = original
            else:
                message = interaction.followups.get(message_id)
        if message is None or self._deleted(interaction, message):
            exc = errors.unknown_message()
            self._reject(interaction, route, exc)
            raise exc
        return message

    # -- messages ----------------------------------------------------------------------

    def _post(
        self,
        interaction: Interaction,
        data: dict[str, Any],
        uploads: list[Upload],
        *,
        original: bool,
        loading: bool = False,
    ) -> StoredMessage:
        """Create the bot's message for ``interaction`` (stored and dispatched unless ephemeral)."""
        requested = _int_flags(data)
        ephemeral = bool(requested & EPHEMERAL)
        flags = requested & (SETTABLE_FLAGS | EPHEMERAL) | (LOADING if loading else 0)
        metadata: dict[str, Any] = {
            "id": str(interaction.id),
            "type": interaction.type,
            "user": interaction.user.payload(),
            "authorizing_integration_owners": copy.deepcopy(interaction.payload["authorizing_integration_owners"]),
        }
        extra: dict[str, Any] = {
            "webhook_id": str(self._world.bot.id),
            "application_id": str(self._world.bot.id),
            "interaction_metadata": metadata,
        }
        if interaction.command is not None:
            metadata.update(name=interaction.command.name, command_type=interaction.command.type)
            extra["interaction"] = {
                "id": str(interaction.id),
                "type": interaction.type,
                "name": interaction.command.name,
                "user": interaction.user.payload(),
            }
        if interaction.source_message is not None:
            metadata["interacted_message_id"] = str(interaction.source_message.id)
        if not original and interaction.original is not None:
            metadata["original_response_message_id"] = str(interaction.original.id)
        content = data.get("content")
        draft = MessageDraft(
            channel=interaction.channel,
            author=self._world.bot,
            content="" if content is None else content,
            allowed_mentions=data.get("allowed_mentions"),
            embeds=data.get("embeds") or [],
            components=data.get("components") or [],
            uploads=uploads,
            tts=bool(data.get("tts", False)),
            flags=flags,
            request={key: copy.deepcopy(data[key]) for key in ("allowed_mentions", "flags", "tts") if key in data},
            message_type=_message_type(interaction) if original else MESSAGE_DEFAULT,
            flag_mask=EPHEMERAL | LOADING,
            allow_empty=loading,
            extra=extra,
        )
        message, _ = self._world.messages.create(draft, store=not ephemeral)
        if not ephemeral:
            self._hub.dispatch("MESSAGE_CREATE", message.payload, interaction.guild_id)
        return message

    def _edit(self, message: StoredMessage, changes: dict[str, Any], uploads: list[Upload]) -> StoredMessage:
        """Edit an interaction (or component) message; it stays ephemeral if it was, and stops loading."""
        ephemeral = _is_ephemeral(message)
        self._world.messages.edit_message(message, self._world.bot, changes, uploads)
        message.payload["flags"] = (message.payload["flags"] & ~(LOADING | EPHEMERAL)) | (EPHEMERAL if ephemeral else 0)
        if self._world.messages.find(message.id) is message:
            self._hub.dispatch("MESSAGE_UPDATE", message.payload, self._world.channel(message.channel_id).guild_id)
        return message

    def _deleted(self, interaction: Interaction, message: StoredMessage) -> bool:
        """Whether ``message`` of ``interaction`` is gone: the bot deleted it through the webhook, or a user
        or moderator deleted it from its channel (a non-ephemeral message no longer stored)."""
        if message is interaction.original and interaction.original_deleted:
            return True
        if message.id in interaction.deleted_followups:
            return True
        return not _is_ephemeral(message) and self._world.messages.find(message.id) is not message

    def _reject(self, interaction: Interaction | None, route: str, exc: DiscordError) -> None:
        self._actions.record(
            "interaction_rejected",
            interaction.channel.id if interaction else None,
            interaction_id=str(interaction.id) if interaction else None,
            route=route,
            status=exc.status,
            code=exc.code,
            error=exc.message,
        )


def _message_type(interaction: Interaction) -> int:
    if interaction.command is None:
        return MESSAGE_DEFAULT
    return MESSAGE_CHAT_INPUT_COMMAND if interaction.command.type == 1 else MESSAGE_CONTEXT_MENU_COMMAND


def _int_flags(data: dict[str, Any]) -> int:
    flags = data.get("flags") or 0
    if not isinstance(flags, int) or isinstance(flags, bool):
        raise errors.invalid_form_body("data.flags", "NUMBER_TYPE_COERCE", f'Value "{flags}" is not int.')
    return flags


def _is_ephemeral(message: StoredMessage | None) -> bool:
    return message is not None and bool(message.payload["flags"] & EPHEMERAL)


def _validated_modal(data: dict[str, Any]) -> dict[str, Any]:
    custom_id, title, components = data.get("custom_id"), data.get("title"), data.get("components")
    if not isinstance(custom_id, str) or not 1 <= len(custom_id) <= 100:
        raise errors.invalid_form_body("data.custom_id", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
    if not isinstance(title, str) or not 1 <= len(title) <= 45:
        raise errors.invalid_form_body("data.title", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 45 in length.")
    if not isinstance(components, list) or not 1 <= len(components) <= 5:
        raise errors.invalid_form_body("data.components", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 5 in length.")
    return copy.deepcopy(data)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")
