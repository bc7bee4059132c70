"""The chat models one inference service streams from, by catalog name: its Ray deployment and hosted drivers.

`ChatModels.pick(request)` resolves the request's alias or model name and requirement profile through the
catalog (`resolver`) and returns the catalog entry with what streams it. `build_chat_models` makes one
driver per hosted chat model from the settings; a provider's key is read from the environment variable
its settings name and is never logged.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Generator, Iterable, Mapping
from typing import Any, Protocol

from pydantic import SecretStr

from switchboard.core.errors import ConfigError
from switchboard.core.wire import InferenceRequest
from switchboard.inference.catalog import PRIMARY_PROVIDER, build_catalog, primary_chat
from switchboard.inference.providers.anthropic_chat import AnthropicChat
from switchboard.inference.providers.gemini_chat import GeminiChat
from switchboard.inference.providers.openai_chat import OpenAIChat
from switchboard.inference.resolver import LOCAL_PROVIDER, ModelCatalog, ModelEntry
from switchboard.inference.settings import InferenceSettings, ProviderSettings


class ChatModel(Protocol):
    def stream_chat(self, request: dict[str, Any]) -> Generator[dict[str, Any], None, None]: ...


class HostedChat(ChatModel, Protocol):
    def close(self) -> None: ...


DRIVERS: Mapping[str, Callable[[str, str, SecretStr | None, float], HostedChat]] = {
    "openai": OpenAIChat, "anthropic": AnthropicChat, "gemini": GeminiChat}


class ChatModels:
    """Catalog entries and what streams each; `close` closes the hosted drivers' connection pools."""

    def __init__(self, catalog: ModelCatalog, backends: Mapping[str, ChatModel]) -> None:
        missing = [entry.name for entry in catalog.of_role("chat") if entry.name not in backends]
        if missing:
            raise ConfigError(f"chat models without a backend: {', '.join(missing)}")
        self.catalog = catalog
        self._backends = dict(backends)

    @classmethod
    def single(cls, model: ChatModel, name: str, provider: str = LOCAL_PROVIDER,
               capabilities: frozenset[str] = frozenset({"stream"}), context_tokens: int = 2048) -> ChatModels:
        """One chat model that every chat alias names (tests and single-model tools)."""
        entry = ModelEntry(name=name, role="chat", provider=provider, provider_model=name,
                           capabilities=capabilities, context_tokens=context_tokens)
        return cls(ModelCatalog([entry], {"default": name, "swift": name, "plan": name}), {name: model})

    @property
    def default(self) -> ModelEntry:
        return self.catalog.resolve("chat", "default")

    def pick(self, request: InferenceRequest) -> tuple[ModelEntry, ChatModel]:
        """The model `request` runs on; raises `NoQualifiedModel`."""
        entry = self.catalog.resolve("chat", request.model, request.requires)
        return entry, self._backends[entry.name]

    def close(self) -> None:
        _close_drivers(self._backends.values())


def build_chat_models(settings: InferenceSettings, host: ChatModel | None) -> ChatModels:
    """The catalog's chat models: `host` (the started `ModelHost`) for the local one, drivers for the rest.

    Raises `ConfigError` when a provider's key variable is unset, or a local chat model has no host.
    """
    catalog, primary = build_catalog(settings), primary_chat(settings)
    backends: dict[str, ChatModel] = {}
    try:
        for entry in catalog.of_role("chat"):
            if entry.local:
                if host is None:
                    raise ConfigError(f"the local chat model {entry.name!r} needs the Ray chat role, "
                                      "which is not started")
                backends[entry.name] = host
            elif entry == primary:  # chat_backend=openai: the driver of the chat_* settings
                backends[entry.name] = OpenAIChat(settings.chat_base_url, entry.provider_model,
                                                  settings.chat_api_key, settings.chat_timeout_s)
            else:
                backends[entry.name] = _driver(settings, entry)
    except BaseException:
        _close_drivers(backends.values())
        raise
    return ChatModels(catalog, backends)


def _close_drivers(backends: Iterable[ChatModel]) -> None:
    """Close the hosted drivers' connection pools (the Ray host has no `close`: its owner shuts it down)."""
    for backend in backends:
        if (close := getattr(backend, "close", None)) is not None:
            close()


def _driver(settings: InferenceSettings, entry: ModelEntry) -> HostedChat:
    provider = settings.providers[entry.provider]
    return DRIVERS[provider.kind](provider.url, entry.provider_model, _key(entry.provider, provider),
                                  provider.timeout_s)


def _key(name: str, provider: ProviderSettings) -> SecretStr | None:
    if provider.api_key_env is None:
        return None  # a local OpenAI-compatible server needs none
    value = os.environ.get(provider.api_key_env)
    if not value:
        raise ConfigError(f"provider {name!r}: environment variable {provider.api_key_env} (its API key) is not set")
    return SecretStr(value)


def cloud_capacities(settings: InferenceSettings) -> dict[str, int]:
    """How many requests each hosted provider runs at once: the lanes `cloud:<provider>`."""
    capacities = {name: provider.capacity for name, provider in settings.providers.items()}
    if settings.chat_backend == "openai" or settings.image_backend == "openai":
        capacities.setdefault(PRIMARY_PROVIDER, settings.chat_cloud_capacity)
    return capacities
