"""Application commands: what the bot registered, global and per guild.

``bulk_overwrite`` is Discord's ``PUT /applications/{id}/commands`` (and the
guild variant) that ``CommandTree.sync()`` uses: the list replaces every
command of that scope. A command keeps its id while its name and type stay
the same; its ``version`` (a snowflake) changes whenever its definition does.
Definitions are validated as Discord does (names, descriptions, option
structure, duplicates) and rejected with a 400 ``Invalid Form Body`` whose
``errors`` point at the offending field (``0.options.1.name``).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

from . import errors
from .snowflake import SnowflakeGenerator

# Command types.
CHAT_INPUT = 1
USER = 2
MESSAGE = 3
COMMAND_TYPES = (CHAT_INPUT, USER, MESSAGE)

# Option types.
SUB_COMMAND = 1
SUB_COMMAND_GROUP = 2
STRING = 3
INTEGER = 4
BOOLEAN = 5
USER_OPTION = 6
CHANNEL = 7
ROLE = 8
MENTIONABLE = 9
NUMBER = 10
ATTACHMENT = 11
VALUE_OPTION_TYPES = frozenset(range(STRING, ATTACHMENT + 1))

MAX_OPTIONS = 25
MAX_CHOICES = 25
MAX_DESCRIPTION = 100
_CHAT_INPUT_NAME = re.compile(r"^[-_'\w]{1,32}$")
# Fields of a definition the emulator keeps (the rest of a request is ignored, as Discord does).
_DEFINITION_FIELDS = (
    "type",
    "name",
    "name_localizations",
    "description",
    "description_localizations",
    "options",
    "default_member_permissions",
    "dm_permission",
    "contexts",
    "integration_types",
    "nsfw",
)


@dataclass
class RegisteredCommand:
    """One command as stored: its id, version, scope and normalised definition."""

    id: int
    version: int
    application_id: int
    guild_id: int | None
    definition: dict[str, Any]

    @property
    def name(self) -> str:
        return self.definition["name"]

    @property
    def type(self) -> int:
        return self.definition["type"]

    @property
    def options(self) -> list[dict[str, Any]]:
        return self.definition.get("options") or []

    @property
    def default_member_permissions(self) -> int | None:
        value = self.definition.get("default_member_permissions")
        return int(value) if value is not None else None

    def usable_in_dm(self) -> bool:
        """Whether the command may be invoked in a DM with the bot."""
        if self.guild_id is not None:
            return False
        contexts = self.definition.get("contexts")
        if contexts is not None:
            return 1 in contexts
        return self.definition.get("dm_permission") is not False

    def payload(self) -> dict[str, Any]:
        """The application command object Discord returns."""
        data: dict[str, Any] = {
            "id": str(self.id),
            "application_id": str(self.application_id),
            "version": str(self.version),
            **copy.deepcopy(self.definition),
        }
        if self.guild_id is not None:
            data["guild_id"] = str(self.guild_id)
        return data

    def summary(self) -> dict[str, Any]:
        return {"id": str(self.id), "name": self.name, "type": self.type}


class CommandRegistry:
    """Every registered command: global ones, and per guild."""

    def __init__(self, application_id: int, snowflakes: SnowflakeGenerator):
        self._application_id = application_id
        self._snowflakes = snowflakes
        # Scope (None: global, else a guild id) -> commands keyed by (name, type).
        self._scopes: dict[int | None, dict[tuple[str, int], RegisteredCommand]] = {}

    def bulk_overwrite(self, guild_id: int | None, body: Any) -> list[RegisteredCommand]:
        """Replace every command of the scope with ``body`` (a list of definitions)."""
        if not isinstance(body, list):
            raise errors.DiscordError(
                400,
                50035,
                "Invalid Form Body",
                {"_errors": [{"code": "LIST_TYPE_CONVERT", "message": "Only iterables may be used in a ListType."}]},
            )
        definitions = [_normalise(index, item, guild_id is None) for index, item in enumerate(body)]
        seen: set[tuple[str, int]] = set()
        for index, definition in enumerate(definitions):
            key = (definition["name"], definition["type"])
            if key in seen:
                raise errors.invalid_form_body(
                    f"{index}.name", "APPLICATION_COMMANDS_DUPLICATE_NAME", "Application command names must be unique"
                )
            seen.add(key)
        old = self._scopes.get(guild_id, {})
        new: dict[tuple[str, int], RegisteredCommand] = {}
        for definition in definitions:
            key = (definition["name"], definition["type"])
            previous = old.get(key)
            if previous is not None and previous.definition == definition:
                new[key] = previous
                continue
            command_id = previous.id if previous is not None else self._snowflakes.next()
            new[key] = RegisteredCommand(
                command_id, self._snowflakes.next(), self._application_id, guild_id, definition
            )
        self._scopes[guild_id] = new
        return list(new.values())

    def list(self, guild_id: int | None) -> list[RegisteredCommand]:
        """The commands of one scope (None: global), in registration order."""
        return list(self._scopes.get(guild_id, {}).values())

    def get(self, guild_id: int | None, command_id: int) -> RegisteredCommand:
        for command in self.list(guild_id):
            if command.id == command_id:
                return command
        raise errors.unknown_command()

    def resolve(self, name: str, command_type: int, guild_id: int | None) -> RegisteredCommand:
        """The command a user in ``guild_id`` (None: a DM) would pick by name: guild ones first."""
        scopes = [guild_id, None] if guild_id is not None else [None]
        for scope in scopes:
            command = self._scopes.get(scope, {}).get((name, command_type))
            if command is not None:
                return command
        raise errors.unknown_command()

    def by_id(self, command_id: int) -> RegisteredCommand:
        for commands in self._scopes.values():
            for command in commands.values():
                if command.id == command_id:
                    return command
        raise errors.unknown_command()

    def view(self) -> dict[str, Any]:
        """``{"global": [command, ...], "guilds": {guild_id: [command, ...]}}`` for the control API."""
        return {
            "global": [c.payload() for c in self.list(None)],
            "guilds": {
                str(scope): [c.payload() for c in commands.values()]
                for scope, commands in self._scopes.items()
                if scope is not None
            },
        }


def _normalise(index: int, item: Any, is_global: bool) -> dict[str, Any]:
    path = str(index)
    if not isinstance(item, dict):
        raise errors.invalid_form_body(path, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
    command_type = item.get("type", CHAT_INPUT)
    if command_type not in COMMAND_TYPES:
        raise errors.invalid_form_body(f"{path}.type", "BASE_TYPE_CHOICES", f"Value must be one of {COMMAND_TYPES}.")
    definition = {key: copy.deepcopy(item[key]) for key in _DEFINITION_FIELDS if key in item}
    definition["type"] = command_type
    _check_name(f"{path}.name", item.get("name"), chat_input=command_type == CHAT_INPUT)
    description = item.get("description") or ""
    if command_type == CHAT_INPUT:
        _check_description(f"{path}.description", description)
        definition["options"] = _normalise_options(f"{path}.options", item.get("options") or [], parent=None)
    elif description:
        raise errors.invalid_form_body(
            f"{path}.description",
            "APPLICATION_COMMAND_INVALID_DESCRIPTION",
            "Context menu commands have no description",
        )
    elif item.get("options"):
        raise errors.invalid_form_body(
            f"{path}.options", "APPLICATION_COMMAND_OPTIONS_INVALID", "Context menu commands take no options"
        )
    definition["description"] = description
    permissions = item.get("default_member_permissions")
    if permissions is not None:
        if not str(permissions).isdigit():
            raise errors.invalid_form_body(
                f"{path}.default_member_permissions", "NUMBER_TYPE_COERCE", f'Value "{permissions}" is not int.'
            )
        permissions = str(permissions)
    definition["default_member_permissions"] = permissions
    definition.setdefault("name_localizations", None)
    definition.setdefault("description_localizations", None)
    definition["nsfw"] = bool(item.get("nsfw", False))
    definition["integration_types"] = item.get("integration_types") or [0]
    if is_global:
        definition["dm_permission"] = item.get("dm_permission") is not False
        definition["contexts"] = item.get("contexts")
    else:
        definition.pop("dm_permission", None)
        definition["contexts"] = None
    return definition


def _normalise_options(path: str, options: Any, parent: int | None) -> list[dict[str, Any]]:
    """The options of a command (``parent`` None), sub-command group or sub-command, checked."""
    if not isinstance(options, list):
        raise errors.invalid_form_body(path, "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType.")
    if len(options) > MAX_OPTIONS:
        raise errors.invalid_form_body(path, "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_OPTIONS} or fewer in length.")
    normalised = [_normalise_option(f"{path}.{index}", option, parent) for index, option in enumerate(options)]
    names = [option["name"] for option in normalised]
    for index, name in enumerate(names):
        if name in names[:index]:
            raise errors.invalid_form_body(
                f"{path}.{index}.name", "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS", "Option names must be unique"
            )
    nested = [option["type"] in (SUB_COMMAND, SUB_COMMAND_GROUP) for option in normalised]
    if any(nested) and not all(nested):
        raise errors.invalid_form_body(
            path,
            "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
            "Sub-commands and sub-command groups cannot be mixed with other options",
        )
    required = [bool(option.get("required")) for option in normalised]
    for index in range(1, len(required)):
        if required[index] and not required[index - 1]:
            raise errors.invalid_form_body(
                f"{path}.{index}.required",
                "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                "Required options must be placed before non-required options",
            )
    return normalised


def _normalise_option(path: str, option: Any, parent: int | None) -> dict[str, Any]:
    if not isinstance(option, dict):
        raise errors.invalid_form_body(path, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
    option_type = option.get("type")
    allowed = _allowed_option_types(parent)
    if option_type not in allowed:
        raise errors.invalid_form_body(f"{path}.type", "BASE_TYPE_CHOICES", f"Value must be one of {sorted(allowed)}.")
    _check_name(f"{path}.name", option.get("name"), chat_input=True)
    _check_description(f"{path}.description", option.get("description") or "")
    clean = copy.deepcopy(option)
    if option_type in (SUB_COMMAND, SUB_COMMAND_GROUP):
        clean["options"] = _normalise_options(f"{path}.options", option.get("options") or [], option_type)
        return clean
    clean["required"] = bool(option.get("required", False))
    choices = option.get("choices")
    if choices is not None and (not isinstance(choices, list) or len(choices) > MAX_CHOICES):
        raise errors.invalid_form_body(
            f"{path}.choices", "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_CHOICES} or fewer in length."
        )
    return clean


def _allowed_option_types(parent: int | None) -> frozenset[int]:
    """Top level: groups, sub-commands or values; in a group: sub-commands; in a sub-command: values."""
    if parent is None:
        return VALUE_OPTION_TYPES | {SUB_COMMAND, SUB_COMMAND_GROUP}
    return frozenset({SUB_COMMAND}) if parent == SUB_COMMAND_GROUP else VALUE_OPTION_TYPES


def _check_name(path: str, name: Any, *, chat_input: bool) -> None:
    if not isinstance(name, str) or not 1 <= len(name) <= 32:
        raise errors.invalid_form_body(path, "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 32 in length.")
    if chat_input and (not _CHAT_INPUT_NAME.match(name) or name != name.lower()):
        raise errors.invalid_form_body(path, "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")


def _check_description(path: str, description: Any) -> None:
    if not isinstance(description, str) or not 1 <= len(description) <= MAX_DESCRIPTION:
        raise errors.invalid_form_body(
            path, "BASE_TYPE_BAD_LENGTH", f"Must be between 1 and {MAX_DESCRIPTION} in length."
        )
