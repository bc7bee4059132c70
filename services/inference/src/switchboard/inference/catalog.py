"""The model catalog of one inference service, built from its settings (see `resolver` for how it is used).

Local entries are the Ray roles this service runs (the image model among them when `image_backend=diffusers`);
hosted entries are the primary chat model when `chat_backend=openai`, the image model when
`image_backend=openai`, and every model in `SWITCHBOARD_MODELS`.
The standard aliases point at the primary model of each role unless `SWITCHBOARD_MODEL_ALIASES` says
otherwise. What a model can do is declared here, not guessed: the local llama.cpp engine and hosted chat APIs
stream text and call tools (llama.cpp through a grammar, see `deployments.local_tools`); the echo engine only
streams; reading images (`vision_input`) is declared per model
in `SWITCHBOARD_MODELS`.

With `vision_backend=vlm` the vision model is a chat model: `vision_model` is resolved among the chat models
with the capability `vision_input` (raising `NoQualifiedModel` when none has it), and the catalog gets a
vision entry for it, `vision:<chat model>`, with the chat model's provider and provider id. That entry is
what vision requests resolve to (the `vision` alias names it), so the bridge admits them to the lane of the
model actually called, `cloud:<provider>`, where they share the provider's capacity with its chat calls.
"""

from __future__ import annotations

from switchboard.core.errors import ConfigError, NoQualifiedModel
from switchboard.core.wire import ModelRequirements
from switchboard.inference.resolver import ALIAS_ROLES, LOCAL_PROVIDER, ModelCatalog, ModelEntry
from switchboard.inference.settings import InferenceSettings

# The provider name of the primary hosted chat model (`chat_backend=openai`) and of the image driver.
PRIMARY_PROVIDER = "openai"
STREAM_ONLY = frozenset({"stream"})
CALLS_TOOLS = frozenset({"stream", "tools"})
VISION_INPUT = ModelRequirements(capabilities=frozenset({"vision_input"}))
VLM_PREFIX = "vision:"  # the vision entry of the chat model that describes images (vision_backend=vlm)


def primary_chat(settings: InferenceSettings) -> ModelEntry:
    """The chat model `chat_backend` configures: the target of `default`, `swift` and `plan` by default."""
    if settings.chat_backend == "openai":
        return ModelEntry(name=settings.chat_model_name, role="chat", provider=PRIMARY_PROVIDER,
                          provider_model=settings.chat_model_name, capabilities=CALLS_TOOLS,
                          context_tokens=settings.chat_context_tokens)
    role = settings.chat_role()
    return ModelEntry(name=role.model_name, role="chat", provider=LOCAL_PROVIDER, provider_model=role.model_name,
                      capabilities=CALLS_TOOLS if role.backend == "llama" else STREAM_ONLY,
                      context_tokens=role.n_ctx)


def primary_image(settings: InferenceSettings) -> ModelEntry:
    """The image model `image_backend` configures (not `none`): the target of `image` by default. A local
    pipeline's lane is `local:image`, sized by the image role's live replicas like any Ray role."""
    name = settings.image_model_name()
    provider = LOCAL_PROVIDER if settings.image_backend == "diffusers" else PRIMARY_PROVIDER
    return ModelEntry(name=name, role="image", provider=provider, provider_model=name)


def build_catalog(settings: InferenceSettings) -> ModelCatalog:
    """Every model this service can run, and the aliases; raises `ConfigError` for an inconsistent one."""
    chat = primary_chat(settings)
    entries = [chat]
    aliases = {"default": chat.name, "swift": chat.name, "plan": chat.name}
    if (vision := settings.vision_role()) is not None:
        entries.append(ModelEntry(name=vision.model_name, role="vision", provider=LOCAL_PROVIDER,
                                  provider_model=vision.model_name))
        aliases["vision"] = vision.model_name
    if (embed := settings.embed_role()) is not None:
        entries.append(ModelEntry(name=embed.model_name, role="embed", provider=LOCAL_PROVIDER,
                                  provider_model=embed.model_name, context_tokens=256))
        aliases["embed"] = embed.model_name
    if settings.image_backend != "none":
        entries.append(primary_image(settings))
        aliases["image"] = settings.image_model_name()
    for model in settings.models:
        entries.append(ModelEntry(name=model.name, role=model.role, provider=model.provider,
                                  provider_model=model.model or model.name, capabilities=model.capabilities,
                                  context_tokens=model.context_tokens))
    aliases.update(settings.model_aliases)
    if settings.vision_backend == "vlm":
        vision_chat = vision_chat_model(entries, aliases, settings.vision_model)
        entries.append(vlm_entry(vision_chat))
        aliases.setdefault("vision", VLM_PREFIX + vision_chat.name)
    return ModelCatalog(entries, aliases)


def vision_chat_model(entries: list[ModelEntry], aliases: dict[str, str], requested: str) -> ModelEntry:
    """The chat model `requested` (an alias or name) resolves to among those that read images; raises
    `NoQualifiedModel` when none does, and `ConfigError` for a local one (no local engine reads images)."""
    # The catalog so far: the vision entry, and aliases naming it, come after this choice (the whole catalog,
    # built next, still checks every alias).
    names = {entry.name for entry in entries}
    known = {alias: target for alias, target in aliases.items()
             if target in names and ALIAS_ROLES.get(alias) != "vision"}
    try:
        chosen = ModelCatalog(entries, known).resolve("chat", requested, VISION_INPUT)
    except NoQualifiedModel as refused:
        raise NoQualifiedModel(requested, "vision", f"vision_backend=vlm needs a chat model with the capability "
                                                    f"vision_input ({refused.reason})") from None
    if chosen.local:  # unreachable from settings today; an entry's lane would be local:vision, not its own
        raise ConfigError(f"the vision model {chosen.name!r} is local; vision_backend=vlm needs a hosted one")
    return chosen


def vlm_entry(chat: ModelEntry) -> ModelEntry:
    """The vision-role entry of the chat model that describes images: same provider, so same lane."""
    return ModelEntry(name=VLM_PREFIX + chat.name, role="vision", provider=chat.provider,
                      provider_model=chat.provider_model, capabilities=chat.capabilities,
                      context_tokens=chat.context_tokens)
