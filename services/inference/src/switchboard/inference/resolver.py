"""The model resolver: from what a request names (an alias or a model) and needs, to one catalog model.

The catalog lists every model this inference service can run: its local Ray deployments and the hosted
models of its configured providers. Each entry says its role (chat, vision, image, embed), its provider
(`local` for a Ray deployment, else the name of a configured provider), what it can do and its context
window. Where a model runs, and so which lane admits it, follows from its provider, never from its name.

Aliases (`default`, `swift`, `plan`, `vision`, `image`, `embed`) name catalog models; operators point
them elsewhere with `SWITCHBOARD_MODEL_ALIASES`. A request that names an alias takes the alias's model when
it meets the request's requirement profile, otherwise the first model of the role, in catalog order, that
does. A request that names a model takes that model or nothing: naming one is pinning it. When nothing
qualifies the step fails with `NoQualifiedModel` (`no_qualified_model`), saying what each candidate lacks.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from switchboard.core.errors import ConfigError, NoQualifiedModel
from switchboard.core.wire import ModelRequirements

Role = Literal["chat", "vision", "image", "embed"]
LOCAL_PROVIDER = "local"
ALIASES: tuple[str, ...] = ("default", "swift", "plan", "vision", "image", "embed")
# Which role each standard alias names a model of.
ALIAS_ROLES: Mapping[str, Role] = {"default": "chat", "swift": "chat", "plan": "chat", "vision": "vision",
                                   "image": "image", "embed": "embed"}


@dataclass(frozen=True)
class ModelEntry:
    """One model in the catalog. `provider_model` is the id sent to the provider (or the deployment's
    model name); `capabilities` name abilities such as `stream`, `tools`, `vision_input`."""

    name: str
    role: Role
    provider: str
    provider_model: str
    capabilities: frozenset[str] = field(default_factory=frozenset)
    context_tokens: int = 0

    @property
    def local(self) -> bool:
        return self.provider == LOCAL_PROVIDER

    @property
    def lane(self) -> str:
        """The admission lane: the role's deployment for a local model, the provider for a hosted one."""
        return f"local:{self.role}" if self.local else f"cloud:{self.provider}"

    def shortfall(self, requires: ModelRequirements | None) -> str | None:
        """What this model lacks for `requires`, or None when it qualifies."""
        if requires is None:
            return None
        lacks = []
        if missing := sorted(requires.capabilities - self.capabilities):
            lacks.append(f"no {', '.join(missing)}")
        if self.context_tokens < requires.min_context_tokens:
            lacks.append(f"context {self.context_tokens} < {requires.min_context_tokens} tokens")
        return "; ".join(lacks) or None


class ModelCatalog:
    """The models and aliases of one inference service; raises `ConfigError` for an inconsistent catalog
    (a duplicate name, an alias naming an unknown model or one of the wrong role)."""

    def __init__(self, entries: Iterable[ModelEntry], aliases: Mapping[str, str]) -> None:
        self._entries: dict[str, ModelEntry] = {}
        for entry in entries:
            if entry.name in self._entries:
                raise ConfigError(f"two catalog models are named {entry.name!r}")
            self._entries[entry.name] = entry
        for alias, target in aliases.items():
            if alias in self._entries:
                raise ConfigError(f"alias {alias!r} has the name of a catalog model")
            entry = self._entries.get(target)
            if entry is None:
                raise ConfigError(f"alias {alias!r} names {target!r}, which is not in the model catalog "
                                  f"(models: {', '.join(self._entries) or 'none'})")
            if (role := ALIAS_ROLES.get(alias)) is not None and entry.role != role:
                raise ConfigError(f"alias {alias!r} must name a {role} model; {target!r} is a {entry.role} model")
        self._aliases = dict(aliases)

    @property
    def entries(self) -> tuple[ModelEntry, ...]:
        return tuple(self._entries.values())

    @property
    def aliases(self) -> dict[str, str]:
        return dict(self._aliases)

    def of_role(self, role: Role) -> tuple[ModelEntry, ...]:
        return tuple(entry for entry in self._entries.values() if entry.role == role)

    def resolve(self, role: Role, requested: str, requires: ModelRequirements | None = None) -> ModelEntry:
        """The model a `role` request naming `requested` runs on; raises `NoQualifiedModel`."""
        if requested in self._aliases:
            first = self._entries[self._aliases[requested]]
            candidates = [first, *(entry for entry in self.of_role(role) if entry is not first)]
        elif requested in self._entries:
            candidates = [self._entries[requested]]
        else:
            known = sorted({*self._aliases, *(entry.name for entry in self.of_role(role))})
            raise NoQualifiedModel(requested, role, f"no alias or model has that name (known: {', '.join(known)})")
        lacks: list[str] = []
        for entry in candidates:
            if entry.role != role:
                lacks.append(f"{entry.name} is a {entry.role} model")
            elif (shortfall := entry.shortfall(requires)) is None:
                return entry
            else:
                lacks.append(f"{entry.name}: {shortfall}")
        raise NoQualifiedModel(requested, role, "; ".join(lacks))
