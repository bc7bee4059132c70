"""What a user's action sends the bot: complete INTERACTION_CREATE payloads.

The control API describes an action simply (a command name and a dict of
option values, a custom id to click, modal field values); this module turns
it into the payload Discord would dispatch, resolving everything the bot
needs: option values typed from the registered command's schema, the
``resolved`` users/members/roles/channels/messages/attachments, the member
with its ``permissions`` (the user's role permissions unless overridden),
``app_permissions``, locales, ``context``, ``authorizing_integration_owners``
and ``attachment_size_limit`` (without which discord.py cannot parse it).
Invalid input raises a ``DiscordError`` (400, or 403 when the user may not
use the command), which the control API reports.
"""

from __future__ import annotations

import copy
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import errors
from .attachments import upload_from_spec
from .commands import (
    ATTACHMENT,
    BOOLEAN,
    CHANNEL,
    CHAT_INPUT,
    INTEGER,
    MENTIONABLE,
    MESSAGE,
    NUMBER,
    ROLE,
    STRING,
    SUB_COMMAND,
    SUB_COMMAND_GROUP,
    USER_OPTION,
    CommandRegistry,
    RegisteredCommand,
)
from .config import EmulatorConfig
from .messages import StoredMessage
from .models import Channel, Guild, Role, User
from .permissions import ADMINISTRATOR, has_all, member_permissions
from .state import World

APPLICATION_COMMAND = 2
MESSAGE_COMPONENT = 3
MODAL_SUBMIT = 5
_COMMAND_TYPES = {"chat_input": CHAT_INPUT, "user": 2, "message": MESSAGE}
# Component types.
ACTION_ROW = 1
BUTTON = 2
STRING_SELECT = 3
TEXT_INPUT = 4
LABEL = 18
_MAX_SAFE_INTEGER = 2**53


@dataclass
class Invocation:
    """A built interaction: its payload and the parties the interaction service needs."""

    payload: dict[str, Any]
    channel: Channel
    user: User
    command: RegisteredCommand | None = None
    custom_id: str | None = None
    source_message: StoredMessage | None = None


@dataclass
class _Context:
    channel: Channel
    user: User
    guild: Guild | None
    permissions: int


class InteractionFactory:
    """Builds interactions for the control API from the world and the registered commands."""

    def __init__(self, world: World, commands: CommandRegistry, config: EmulatorConfig):
        self._world = world
        self._commands = commands
        self._config = config

    # -- application commands ------------------------------------------------------------

    def command(self, spec: dict[str, Any], served_from: str) -> Invocation:
        """A user invokes a registered command.

        ``spec``: ``command`` (name; ``"name group sub"`` also selects a
        subcommand), optional ``subcommand_group``, ``subcommand``, ``type``
        (1/``"chat_input"`` default, 2/``"user"``, 3/``"message"``),
        ``options`` (name -> value), ``target_id`` (user for type 2, message
        for type 3), ``user`` (default alice), ``channel_id`` (default
        general, or the target message's channel), ``dm``, ``permissions``,
        ``locale``, ``guild_locale``.
        """
        command_type = _command_type(spec.get("type") or CHAT_INPUT)
        path = str(spec.get("command") or "").split()
        if not path:
            raise errors.invalid_form_body("command", "BASE_TYPE_REQUIRED", "The command name is required.")
        name = path[0] if command_type == CHAT_INPUT else str(spec["command"])
        group = spec.get("subcommand_group") or (path[1] if command_type == CHAT_INPUT and len(path) == 3 else None)
        sub = spec.get("subcommand") or (path[-1] if command_type == CHAT_INPUT and len(path) in (2, 3) else None)
        target_message = self._target_message(spec) if command_type == MESSAGE else None
        default_channel = target_message.channel_id if target_message is not None else "general"
        context = self._context(spec, default_channel)
        command = self._commands.resolve(name, command_type, context.guild.id if context.guild else None)
        self._check_allowed(command, context)
        data: dict[str, Any] = {"id": str(command.id), "name": command.name, "type": command.type}
        resolved: dict[str, dict[str, Any]] = {}
        if command_type == CHAT_INPUT:
            options = spec.get("options") or {}
            if not isinstance(options, dict):
                raise errors.invalid_form_body("options", "DICT_TYPE_CONVERT", "options must be an object")
            built = _OptionBuilder(self, context, resolved, served_from).build(command, group, sub, options)
            if built:
                data["options"] = built
        elif command_type == MESSAGE:
            assert target_message is not None
            if target_message.channel_id != context.channel.id:
                raise errors.invalid_form_body("target_id", "UNKNOWN_MESSAGE", "The message is not in this channel.")
            data["target_id"] = str(target_message.id)
            resolved["messages"] = {str(target_message.id): copy.deepcopy(target_message.payload)}
        else:
            target = self._world.user(_required(spec, "target_id"))
            data["target_id"] = str(target.id)
            self.resolve_user(target, context, resolved)
        if resolved:
            data["resolved"] = resolved
        if command.guild_id is not None:
            data["guild_id"] = str(command.guild_id)
        payload = self._base(APPLICATION_COMMAND, context, data, spec)
        return Invocation(payload, context.channel, context.user, command=command)

    def _target_message(self, spec: dict[str, Any]) -> StoredMessage:
        target = str(_required(spec, "target_id"))
        message = self._world.messages.find(int(target)) if target.isdigit() else None
        if message is None:
            raise errors.unknown_message()
        return message

    def _check_allowed(self, command: RegisteredCommand, context: _Context) -> None:
        if context.guild is None:
            if not command.usable_in_dm():
                raise errors.DiscordError(400, 0, f"/{command.name} cannot be used in DMs")
            return
        contexts = command.definition.get("contexts")
        if contexts is not None and 0 not in contexts:
            raise errors.DiscordError(400, 0, f"/{command.name} cannot be used in guilds")
        required = command.default_member_permissions
        if required is None:
            return
        allowed = bool(context.permissions & ADMINISTRATOR) if required == 0 else has_all(context.permissions, required)
        if not allowed:
            raise errors.DiscordError(
                403, 50013, f"{context.user.username} lacks the permissions /{command.name} requires ({required})"
            )

    # -- components and modals ------------------------------------------------------------

    def component(self, message: StoredMessage, spec: dict[str, Any]) -> Invocation:
        """A user clicks a button or picks from a string select on ``message``.

        ``spec``: ``custom_id``, ``values`` (for a select), ``user``, ``permissions``, ``locale``.
        """
        custom_id = _required(spec, "custom_id")
        component = _find_component(message.payload.get("components") or [], custom_id)
        if component is None:
            raise errors.invalid_form_body(
                "custom_id", "COMPONENT_UNKNOWN", f"No component {custom_id!r} on the message"
            )
        if component.get("disabled"):
            raise errors.invalid_form_body("custom_id", "COMPONENT_DISABLED", f"Component {custom_id!r} is disabled")
        component_type = component.get("type")
        if component_type not in (BUTTON, STRING_SELECT):
            raise errors.invalid_form_body(
                "custom_id", "COMPONENT_TYPE_UNSUPPORTED", "Only buttons and string selects can be used"
            )
        context = self._context({**spec, "channel_id": message.channel_id, "dm": False}, message.channel_id)
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": component_type}
        if component_type == STRING_SELECT:
            data["values"] = _select_values(component, spec.get("values"))
        payload = self._base(MESSAGE_COMPONENT, context, data, spec)
        payload["message"] = copy.deepcopy(message.payload)
        return Invocation(payload, context.channel, context.user, custom_id=custom_id, source_message=message)

    def modal_submit(
        self, modal: dict[str, Any], channel: Channel, spec: dict[str, Any], source: StoredMessage | None
    ) -> Invocation:
        """A user submits ``modal`` (as the bot sent it) in ``channel`` with ``spec["values"]``.

        ``values`` maps a text input's custom id to its text, or a select's to a list of values.
        """
        values = spec.get("values") or {}
        if not isinstance(values, dict):
            raise errors.invalid_form_body("values", "DICT_TYPE_CONVERT", "values must be an object")
        remaining = dict(values)
        components = _submitted(modal.get("components") or [], remaining)
        if remaining:
            raise errors.invalid_form_body(
                "values", "COMPONENT_UNKNOWN", f"The modal has no field {next(iter(remaining))!r}"
            )
        context = self._context({**spec, "channel_id": channel.id, "dm": channel.is_dm}, channel.id)
        data = {"custom_id": modal["custom_id"], "components": components}
        payload = self._base(MODAL_SUBMIT, context, data, spec)
        if source is not None:
            payload["message"] = copy.deepcopy(source.payload)
        return Invocation(payload, context.channel, context.user, custom_id=modal["custom_id"], source_message=source)

    # -- shared parts ---------------------------------------------------------------------

    def _context(self, spec: dict[str, Any], default_channel: int | str) -> _Context:
        user = self._world.user(spec.get("user") or "alice")
        if user.id == self._world.bot.id:
            raise errors.DiscordError(400, 0, "The bot cannot invoke interactions")
        if spec.get("dm"):
            if user.bot:
                raise errors.cannot_message_user()
            channel = self._world.dm_channel(user)
        else:
            channel = self._world.channel(spec.get("channel_id") or default_channel)
        guild = self._world.guild_of(channel)
        if guild is not None and user.id not in guild.members:
            raise errors.missing_access()
        if channel.is_dm and channel.recipient_id != user.id:
            raise errors.missing_access()
        override = spec.get("permissions")
        if override is not None:
            if isinstance(override, bool) or not str(override).isdigit():
                raise errors.invalid_form_body("permissions", "NUMBER_TYPE_COERCE", "permissions must be a bitfield")
            permissions = int(override)
        else:
            permissions = member_permissions(guild, user.id) if guild is not None else 0
        return _Context(channel, user, guild, permissions)

    def _base(
        self, interaction_type: int, context: _Context, data: dict[str, Any], spec: dict[str, Any]
    ) -> dict[str, Any]:
        interaction_id = self._world.snowflakes.next()
        channel, guild = context.channel, context.guild
        locale = str(spec.get("locale") or "en-US")
        payload: dict[str, Any] = {
            "id": str(interaction_id),
            "application_id": str(self._world.bot.id),
            "type": interaction_type,
            "data": data,
            "channel_id": str(channel.id),
            "channel": {**self._world.channel_payload(channel), "permissions": str(context.permissions)},
            "token": f"emulator.{interaction_id}.{secrets.token_urlsafe(32)}",
            "version": 1,
            "locale": locale,
            "entitlements": [],
            "entitlement_sku_ids": [],
            "attachment_size_limit": self._config.attachment_size_limit,
        }
        if guild is not None:
            bot_permissions = member_permissions(guild, self._world.bot.id)
            member = self._world.member_payload(context.user.id, guild.id)
            payload.update(
                guild_id=str(guild.id),
                guild={"id": str(guild.id), "locale": "en-US", "features": []},
                guild_locale=str(spec.get("guild_locale") or "en-US"),
                member={**member, "permissions": str(context.permissions)},
                app_permissions=str(bot_permissions),
                authorizing_integration_owners={"0": str(guild.id)},
                context=0,
            )
        else:
            payload.update(
                user=context.user.payload(),
                app_permissions=str(member_permissions(self._world.guild, self._world.bot.id)),
                authorizing_integration_owners={"0": "0"},
                context=1,
            )
        return payload

    def resolve_user(self, user: User, context: _Context, resolved: dict[str, dict[str, Any]]) -> None:
        resolved.setdefault("users", {})[str(user.id)] = user.payload()
        if context.guild is not None and user.id in context.guild.members:
            member = self._world.member_payload(user.id, context.guild.id, with_user=False)
            member["permissions"] = str(member_permissions(context.guild, user.id))
            resolved.setdefault("members", {})[str(user.id)] = member

    def resolve_channel(self, channel: Channel, context: _Context, resolved: dict[str, dict[str, Any]]) -> None:
        payload = self._world.channel_payload(channel)
        payload["permissions"] = str(context.permissions)
        resolved.setdefault("channels", {})[str(channel.id)] = payload

    def find_role(self, context: _Context, ref: Any) -> Role | None:
        if context.guild is None:
            return None
        for role in context.guild.roles:
            if str(role.id) == str(ref) or role.name == ref:
                return role
        return None

    def served_file(self, channel: Channel, spec: Any, path: str, served_from: str) -> dict[str, Any]:
        upload = upload_from_spec(spec, path, served_from)
        return self._world.messages.add_loose_file(channel.id, upload)

    def channel_ref(self, ref: Any) -> Channel:
        return self._world.channel(ref)

    def user_ref(self, ref: Any) -> User:
        return self._world.user(ref)


class _OptionBuilder:
    """Types a chat-input command's option values from its schema and fills ``resolved``."""

    def __init__(
        self, factory: InteractionFactory, context: _Context, resolved: dict[str, dict[str, Any]], served_from: str
    ):
        self._factory = factory
        self._context = context
        self._resolved = resolved
        self._served_from = served_from
        self._converters: dict[int, Callable[[dict[str, Any], Any], Any]] = {
            STRING: self._string,
            INTEGER: self._integer,
            BOOLEAN: self._boolean,
            NUMBER: self._number,
            USER_OPTION: self._user,
            CHANNEL: self._channel,
            ROLE: self._role,
            MENTIONABLE: self._mentionable,
            ATTACHMENT: self._attachment,
        }

    def build(
        self, command: RegisteredCommand, group: str | None, sub: str | None, given: dict[str, Any]
    ) -> list[dict[str, Any]]:
        schema = command.options
        wrappers: list[tuple[int, str]] = []
        if group is not None:
            schema = _nested(schema, SUB_COMMAND_GROUP, group)
            wrappers.append((SUB_COMMAND_GROUP, group))
        if sub is not None:
            schema = _nested(schema, SUB_COMMAND, sub)
            wrappers.append((SUB_COMMAND, sub))
        if any(o["type"] in (SUB_COMMAND, SUB_COMMAND_GROUP) for o in schema):
            raise errors.invalid_form_body("subcommand", "BASE_TYPE_REQUIRED", f"/{command.name} needs a subcommand")
        options = self._values(schema, given)
        for option_type, name in reversed(wrappers):
            options = [{"type": option_type, "name": name, "options": options}]
        return options

    def _values(self, schema: list[dict[str, Any]], given: dict[str, Any]) -> list[dict[str, Any]]:
        known = {option["name"] for option in schema}
        unknown = [name for name in given if name not in known]
        if unknown:
            raise errors.invalid_form_body(f"options.{unknown[0]}", "UNKNOWN_OPTION", f"No option {unknown[0]!r}")
        built = []
        for option in schema:
            name = option["name"]
            if name not in given or given[name] is None:
                if option.get("required"):
                    raise errors.invalid_form_body(f"options.{name}", "BASE_TYPE_REQUIRED", "This option is required")
                continue
            value = self._converters[option["type"]](option, given[name])
            choices = option.get("choices")
            if choices and value not in [choice["value"] for choice in choices]:
                raise errors.invalid_form_body(f"options.{name}", "BASE_TYPE_CHOICES", "Value is not a valid choice")
            built.append({"name": name, "type": option["type"], "value": value})
        return built

    def _string(self, option: dict[str, Any], value: Any) -> str:
        if not isinstance(value, str):
            raise _bad(option, "must be a string")
        if not option.get("min_length", 0) <= len(value) <= option.get("max_length", 6000):
            raise _bad(option, "has the wrong length")
        return value

    def _integer(self, option: dict[str, Any], value: Any) -> int:
        if isinstance(value, str) and value.lstrip("-").isdigit():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool) or abs(value) > _MAX_SAFE_INTEGER:
            raise _bad(option, "must be an integer")
        return _in_range(option, value)

    def _number(self, option: dict[str, Any], value: Any) -> float | int:
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                raise _bad(option, "must be a number") from None
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise _bad(option, "must be a number")
        return _in_range(option, value)

    def _boolean(self, option: dict[str, Any], value: Any) -> bool:
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        if not isinstance(value, bool):
            raise _bad(option, "must be a boolean")
        return value

    def _user(self, option: dict[str, Any], value: Any) -> str:
        user = self._factory.user_ref(value)
        self._factory.resolve_user(user, self._context, self._resolved)
        return str(user.id)

    def _channel(self, option: dict[str, Any], value: Any) -> str:
        channel = self._factory.channel_ref(value)
        guild = self._context.guild
        if guild is None or channel.guild_id != guild.id:
            raise _bad(option, "must be a channel of this guild")
        allowed = option.get("channel_types")
        if allowed and channel.type not in allowed:
            raise _bad(option, f"must be a channel of type {allowed}")
        self._factory.resolve_channel(channel, self._context, self._resolved)
        return str(channel.id)

    def _role(self, option: dict[str, Any], value: Any) -> str:
        role = self._factory.find_role(self._context, value)
        if role is None:
            raise _bad(option, "must be a role of this guild")
        self._resolved.setdefault("roles", {})[str(role.id)] = role.payload()
        return str(role.id)

    def _mentionable(self, option: dict[str, Any], value: Any) -> str:
        role = self._factory.find_role(self._context, value)
        if role is not None:
            self._resolved.setdefault("roles", {})[str(role.id)] = role.payload()
            return str(role.id)
        return self._user(option, value)

    def _attachment(self, option: dict[str, Any], value: Any) -> str:
        path = f"options.{option['name']}"
        attachment = self._factory.served_file(self._context.channel, value, path, self._served_from)
        self._resolved.setdefault("attachments", {})[attachment["id"]] = attachment
        return attachment["id"]


def _command_type(value: Any) -> int:
    if isinstance(value, str) and value in _COMMAND_TYPES:
        return _COMMAND_TYPES[value]
    if value in (1, 2, 3) and not isinstance(value, bool):
        return int(value)
    raise errors.invalid_form_body("type", "BASE_TYPE_CHOICES", "type must be 1/chat_input, 2/user or 3/message")


def _required(spec: dict[str, Any], key: str) -> Any:
    value = spec.get(key)
    if value is None or value == "":
        raise errors.invalid_form_body(key, "BASE_TYPE_REQUIRED", "This field is required")
    return value


def _nested(schema: list[dict[str, Any]], option_type: int, name: str) -> list[dict[str, Any]]:
    for option in schema:
        if option["type"] == option_type and option["name"] == name:
            return option.get("options") or []
    kind = "subcommand group" if option_type == SUB_COMMAND_GROUP else "subcommand"
    raise errors.invalid_form_body(name, "UNKNOWN_OPTION", f"No {kind} {name!r}")


def _bad(option: dict[str, Any], problem: str) -> errors.DiscordError:
    return errors.invalid_form_body(f"options.{option['name']}", "OPTION_VALUE_INVALID", f"{option['name']} {problem}")


def _in_range(option: dict[str, Any], value: float) -> Any:
    low, high = option.get("min_value"), option.get("max_value")
    if (low is not None and value < low) or (high is not None and value > high):
        raise _bad(option, "is out of range")
    return value


def _find_component(components: list[dict[str, Any]], custom_id: str) -> dict[str, Any] | None:
    for component in components:
        if component.get("custom_id") == custom_id:
            return component
        children = list(component.get("components") or [])
        for key in ("component", "accessory"):
            if isinstance(component.get(key), dict):
                children.append(component[key])
        found = _find_component(children, custom_id)
        if found is not None:
            return found
    return None


def _select_values(component: dict[str, Any], values: Any) -> list[str]:
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise errors.invalid_form_body("values", "LIST_TYPE_CONVERT", "values must be a list of strings")
    offered = {option.get("value") for option in component.get("options") or []}
    if not set(values) <= offered:
        raise errors.invalid_form_body("values", "COMPONENT_SELECT_INVALID", "values must be options of the select")
    if not component.get("min_values", 1) <= len(values) <= component.get("max_values", 1):
        raise errors.invalid_form_body("values", "BASE_TYPE_BAD_LENGTH", "Wrong number of values for the select")
    return values


def _submitted(components: list[dict[str, Any]], values: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``components`` of a modal submit: the modal's layout with the user's values filled in."""
    submitted: list[dict[str, Any]] = []
    for component in components:
        kind = component.get("type")
        if kind == ACTION_ROW:
            submitted.append({"type": ACTION_ROW, "components": _submitted(component.get("components") or [], values)})
        elif kind == LABEL and isinstance(component.get("component"), dict):
            inner = _submitted([component["component"]], values)
            if inner:
                submitted.append({"type": LABEL, "component": inner[0]})
        elif kind == TEXT_INPUT:
            custom_id = component.get("custom_id")
            text = values.pop(custom_id, None)
            if text is None:
                if component.get("required", True) and not component.get("value"):
                    raise errors.invalid_form_body(
                        f"values.{custom_id}", "BASE_TYPE_REQUIRED", "This field is required"
                    )
                text = component.get("value") or ""
            if not isinstance(text, str):
                raise errors.invalid_form_body(f"values.{custom_id}", "BASE_TYPE_STRING", "Must be a string.")
            submitted.append({"type": TEXT_INPUT, "custom_id": custom_id, "value": text})
        elif kind == STRING_SELECT:
            custom_id = component.get("custom_id")
            chosen = _select_values(component, values.pop(custom_id, []))
            submitted.append({"type": STRING_SELECT, "custom_id": custom_id, "values": chosen})
    return submitted
