"""The callsystem standard: what a plugin declares, what it may call, and the registry that loads them.

A callsystem is a class with `package_id` (`cs.<namespace>.<name>`), a semver `version`, a
`release_date`, `capabilities`, and `async def activate(self, ctx) -> Reply`. The registry finds them
by sweeping a package and the `switchboard.callsystems` entry-point group, keys them by
`(package_id, version)`, and refuses duplicates or invalid plugins with `PluginLoadError`.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import pkgutil
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date
from importlib.metadata import entry_points
from typing import Any, ClassVar, Protocol

from switchboard.core.blobs import BlobStore
from switchboard.core.errors import PluginLoadError, UnknownCallsystem
from switchboard.core.memory import MemoryScope
from switchboard.core.wire import (
    Activation,
    AttachmentRef,
    ChatMessage,
    HistoryMessage,
    ImageResult,
    InferenceResult,
    LaneStats,
    Outcome,
    Reply,
    ToolSpec,
    TurnPlan,
    VisionResult,
)

ENTRY_POINT_GROUP = "switchboard.callsystems"
CAPABILITIES = frozenset({"text", "vision", "image", "tools", "ears", "audio"})
_PACKAGE_ID = re.compile(r"^cs(\.[a-z][a-z0-9_]*){2,}$")
_SEMVER = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")


DEFAULT_HISTORY_TEMPLATE = "{author}: {content}"


@dataclass(frozen=True)
class Persona:
    """An instruction set: the system prompt a callsystem answers with.

    `instructions` may use variables (`{name}`, `{time}`, and what a callsystem adds, e.g. an agent
    group's `{others}`); `history_template` is how another speaker's message reads in the prompt
    (`{author}`, `{content}`). Unknown braces are left as they are, so instructions may contain JSON.
    """

    name: str
    instructions: str
    history_template: str = DEFAULT_HISTORY_TEMPLATE

    def system_prompt(self, **variables: str) -> str:
        text = self.instructions.replace("{name}", self.name)
        for variable, value in variables.items():
            text = text.replace(f"{{{variable}}}", value)
        return text

    def turn(self, message: HistoryMessage) -> ChatMessage:
        """A history record as this persona reads it: its own words as the assistant, others by the template.

        Our own messages are this persona's when no speaker is recorded (a one-persona channel) or when
        the speaker is this persona; another persona's words read like anyone else's.
        """
        if message.from_self and message.speaker in (None, self.name):
            return ChatMessage(role="assistant", content=message.content)
        author = message.speaker or message.author_name
        return ChatMessage(role="user", content=self.history_template.replace("{author}", author)
                           .replace("{content}", message.content))


class CallContext(Protocol):
    """The standard library a callsystem gets. Every effect goes through it and is journaled."""

    activation: Activation
    persona: Persona
    group: tuple[Persona, ...]  # the channel's agent group (empty when it has none)
    group_chatter: int  # follow-up rounds in which the group's personas may answer each other
    blobs: BlobStore  # attachments' bytes, by `AttachmentRef.sha256`
    log: logging.LoggerAdapter[logging.Logger]

    async def history(self, limit: int = 20) -> list[HistoryMessage]: ...

    async def infer(self, messages: list[ChatMessage], *, max_tokens: int = 256, temperature: float = 0.7,
                    stream: bool = True, tools: Sequence[ToolSpec] = ()) -> InferenceResult: ...

    async def tool_specs(self) -> list[ToolSpec]: ...

    async def imagine(self, prompt: str, *, width: int = 512, height: int = 512) -> ImageResult: ...

    async def describe_image(self, image: AttachmentRef, *, top_k: int = 3) -> VisionResult: ...

    async def tool(self, name: str, arguments: dict[str, Any]) -> Any: ...

    async def gather(self, *steps: Awaitable[Any]) -> list[Any]: ...

    async def recall(self, key: str, *, scope: MemoryScope = "user") -> Any: ...

    async def remember(self, key: str, value: Any, *, scope: MemoryScope = "user") -> None: ...

    async def forget_history(self) -> None: ...

    async def lane(self, role: str = "chat") -> LaneStats | None: ...

    async def decide(self, name: str, compute: Callable[[], Awaitable[TurnPlan]]) -> TurnPlan: ...

    async def post(self, text: str, *, speaker: str, turn: int) -> None: ...

    async def newer_in_channel(self) -> str | None: ...

    async def follow_up(self, activation: Activation) -> None: ...

    def note(self, text: str) -> None: ...

    def reply(self, text: str, outcome: Outcome = Outcome.REPLIED,
              images: tuple[AttachmentRef, ...] = ()) -> Reply: ...


DEFAULT_MAX_TOOL_CALLS_PER_ROUND = 4


class Callsystem:
    """Base class for callsystems; subclasses set the class attributes and implement `activate`."""

    package_id: ClassVar[str]
    version: ClassVar[str]
    release_date: ClassVar[date]
    capabilities: ClassVar[frozenset[str]] = frozenset({"text"})
    tools: ClassVar[frozenset[str]] = frozenset()  # the tools it may call (the guild must allow them too)
    # Tool calls one model round may run (those after the last model call); the context refuses the rest, so
    # one injected message cannot fan out dozens of side effects.
    max_tool_calls_per_round: ClassVar[int] = DEFAULT_MAX_TOOL_CALLS_PER_ROUND

    async def activate(self, ctx: CallContext) -> Reply:
        raise NotImplementedError  # abstract: the registry refuses classes that do not override it

    @classmethod
    def key(cls) -> str:
        return f"{cls.package_id}@{cls.version}"


def _version_tuple(version: str) -> tuple[int, int, int]:
    major, minor, patch = _SEMVER.match(version).groups()  # type: ignore[union-attr]
    return int(major), int(minor), int(patch)


def validate_plugin(cls: Any) -> None:
    """Raise `PluginLoadError` naming the plugin when it does not meet the standard."""
    name = getattr(cls, "package_id", getattr(cls, "__name__", repr(cls)))
    problems = []
    if not (inspect.isclass(cls) and issubclass(cls, Callsystem)):
        raise PluginLoadError(str(name), "not a Callsystem subclass")
    if not _PACKAGE_ID.match(getattr(cls, "package_id", "")):
        problems.append("package_id must look like cs.<namespace>.<name>")
    if not _SEMVER.match(getattr(cls, "version", "")):
        problems.append("version must be semver MAJOR.MINOR.PATCH")
    if not isinstance(getattr(cls, "release_date", None), date):
        problems.append("release_date must be a datetime.date")
    if unknown := set(cls.capabilities) - CAPABILITIES:
        problems.append(f"unknown capabilities {sorted(unknown)}")
    cap = cls.max_tool_calls_per_round
    if not isinstance(cap, int) or isinstance(cap, bool) or cap < 1:
        problems.append("max_tool_calls_per_round must be an integer of at least 1")
    if cls.activate is Callsystem.activate or not inspect.iscoroutinefunction(cls.activate):
        problems.append("activate must be an async method overriding Callsystem.activate")
    if problems:
        raise PluginLoadError(str(name), "; ".join(problems))


class CallsystemRegistry:
    """Callsystems keyed by `(package_id, version)`; `resolve` turns a selector into an instance."""

    def __init__(self) -> None:
        self._plugins: dict[tuple[str, str], type[Callsystem]] = {}

    def register(self, cls: type[Callsystem]) -> type[Callsystem]:
        validate_plugin(cls)
        key = (cls.package_id, cls.version)
        if key in self._plugins and self._plugins[key] is not cls:
            raise PluginLoadError(cls.key(), f"duplicate of {self._plugins[key].__module__}")
        self._plugins[key] = cls
        return cls

    def load_package(self, package: str) -> None:
        """Register every Callsystem subclass defined in the modules of `package`."""
        root = importlib.import_module(package)
        for info in pkgutil.iter_modules(root.__path__, prefix=f"{package}."):
            module = importlib.import_module(info.name)
            for _, obj in inspect.getmembers(module, inspect.isclass):
                if issubclass(obj, Callsystem) and obj is not Callsystem and obj.__module__ == module.__name__:
                    self.register(obj)

    def load_entry_points(self, group: str = ENTRY_POINT_GROUP) -> None:
        for entry in entry_points(group=group):
            try:
                plugin = entry.load()
            except Exception as exc:  # a broken third-party plugin is named, not a crash elsewhere
                raise PluginLoadError(entry.name, f"import failed: {exc}") from exc
            self.register(plugin)

    def keys(self) -> tuple[str, ...]:
        return tuple(sorted(cls.key() for cls in self._plugins.values()))

    def plugins(self) -> tuple[type[Callsystem], ...]:
        """Every registered callsystem class, by package id then version."""
        return tuple(cls for _, cls in sorted(self._plugins.items(), key=lambda item: (item[0][0], _version_tuple(
            item[0][1]))))

    def resolve(self, selector: str) -> Callsystem:
        """`cs.x.y@1.2.3`, `cs.x.y@latest` or `cs.x.y` → an instance; raises `UnknownCallsystem`."""
        package_id, _, version = selector.partition("@")
        candidates = [cls for (pid, _), cls in self._plugins.items() if pid == package_id]
        if version and version != "latest":
            candidates = [cls for cls in candidates if cls.version == version]
        if not candidates:
            raise UnknownCallsystem(selector, self.keys())
        newest = max(candidates, key=lambda cls: (cls.release_date, _version_tuple(cls.version)))
        return newest()
