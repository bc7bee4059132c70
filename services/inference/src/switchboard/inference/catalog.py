"""The model catalog of one inference service, built from its settings (see `resolver` for how it is used).

Local entries are the Ray roles this service runs (the image model among them when `image_backend=diffusers`);
hosted entries are the primary chat model when `chat_backend=openai`, the image model when
`image_backend=openai`, and every model in `SWITCHBOARD_MODELS`.
The standard aliases point at the primary model of each role unless `SWITCHBOARD_MODEL_ALIASES` says
otherwise. What a model can do is declared here, not guessed: the local llama.cpp and echo engines stream
text but cannot call tools; hosted chat APIs do both.
"""

from __future__ import annotations

from switchboard.inference.resolver import LOCAL_PROVIDER, ModelCatalog, ModelEntry
from switchboard.inference.settings import InferenceSettings

# The provider name of the primary hosted chat model (`chat_backend=openai`) and of the image driver.
PRIMARY_PROVIDER = "openai"
STREAM_ONLY = frozenset({"stream"})
HOSTED_CHAT = frozenset({"stream", "tools"})


def primary_chat(settings: InferenceSettings) -> ModelEntry:
    """The chat model `chat_backend` configures: the target of `default`, `swift` and `plan` by default."""
    if settings.chat_backend == "openai":
        return ModelEntry(name=settings.chat_model_name, role="chat", provider=PRIMARY_PROVIDER,
                          provider_model=settings.chat_model_name, capabilities=HOSTED_CHAT,
                          context_tokens=settings.chat_context_tokens)
    role = settings.chat_role()
    return ModelEntry(name=role.model_name, role="chat", provider=LOCAL_PROVIDER, provider_model=role.model_name,
                      capabilities=STREAM_ONLY, context_tokens=role.n_ctx)


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
    return ModelCatalog(entries, {**aliases, **settings.model_aliases})
