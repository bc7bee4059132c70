"""The model resolver and the catalog built from settings: aliases, requirement profiles, pinned names,
`no_qualified_model`, and where a model runs decided by its provider, never by its name."""

from __future__ import annotations

import pytest

from switchboard.core.errors import ConfigError, NoQualifiedModel
from switchboard.core.wire import ModelRequirements
from switchboard.inference.catalog import build_catalog
from switchboard.inference.resolver import LOCAL_PROVIDER, ModelCatalog, ModelEntry
from switchboard.inference.settings import InferenceSettings

SMALL = ModelEntry(name="smollm2", role="chat", provider=LOCAL_PROVIDER, provider_model="SmolLM2-135M-Instruct",
                   capabilities=frozenset({"stream"}), context_tokens=2048)
CLAUDE = ModelEntry(name="claude", role="chat", provider="anthropic-main", provider_model="claude-sonnet-4-5",
                    capabilities=frozenset({"stream", "tools", "vision_input"}), context_tokens=200_000)
GPT = ModelEntry(name="gpt", role="chat", provider="openrouter", provider_model="openai/gpt-4.1-mini",
                 capabilities=frozenset({"stream", "tools"}), context_tokens=1_000_000)
MINILM = ModelEntry(name="minilm", role="embed", provider=LOCAL_PROVIDER, provider_model="all-MiniLM-L6-v2",
                    context_tokens=256)
TOOLS = ModelRequirements(capabilities=frozenset({"tools"}))
LONG_CONTEXT = ModelRequirements(min_context_tokens=100_000)


@pytest.fixture
def catalog() -> ModelCatalog:
    return ModelCatalog([SMALL, CLAUDE, GPT, MINILM], {"default": "smollm2", "swift": "smollm2", "plan": "claude",
                                                       "embed": "minilm"})


def test_an_alias_names_its_model_when_the_model_qualifies(catalog: ModelCatalog) -> None:
    assert catalog.resolve("chat", "default") == SMALL
    assert catalog.resolve("chat", "plan", TOOLS) == CLAUDE
    assert catalog.resolve("embed", "embed") == MINILM


def test_an_alias_whose_model_falls_short_takes_the_first_model_of_the_role_that_qualifies(
        catalog: ModelCatalog) -> None:
    assert catalog.resolve("chat", "swift", TOOLS) == CLAUDE
    assert catalog.resolve("chat", "default", ModelRequirements(min_context_tokens=500_000)) == GPT
    both = ModelRequirements(capabilities=frozenset({"tools", "vision_input"}), min_context_tokens=100_000)
    assert catalog.resolve("chat", "swift", both) == CLAUDE


def test_a_named_model_is_pinned_it_qualifies_or_the_request_fails(catalog: ModelCatalog) -> None:
    assert catalog.resolve("chat", "gpt") == GPT
    with pytest.raises(NoQualifiedModel) as refused:
        catalog.resolve("chat", "smollm2", TOOLS)
    assert refused.value.code == "no_qualified_model" and not refused.value.retryable
    assert refused.value.reason == "smollm2: no tools"


def test_no_qualified_model_says_what_each_candidate_lacks(catalog: ModelCatalog) -> None:
    with pytest.raises(NoQualifiedModel) as refused:
        catalog.resolve("chat", "default", ModelRequirements(capabilities=frozenset({"audio_input"}),
                                                             min_context_tokens=300_000))
    assert (refused.value.requested, refused.value.role) == ("default", "chat")
    assert refused.value.reason == ("smollm2: no audio_input; context 2048 < 300000 tokens; "
                                    "claude: no audio_input; context 200000 < 300000 tokens; gpt: no audio_input")


def test_unknown_names_and_models_of_another_role_do_not_qualify(catalog: ModelCatalog) -> None:
    with pytest.raises(NoQualifiedModel, match="no alias or model has that name"):
        catalog.resolve("chat", "gpt-5")
    with pytest.raises(NoQualifiedModel, match="minilm is a embed model"):
        catalog.resolve("chat", "minilm")
    with pytest.raises(NoQualifiedModel, match="no alias or model has that name"):
        catalog.resolve("vision", "vision")  # this catalog has no vision model


@pytest.mark.parametrize(("entries", "aliases", "error"), [
    ([SMALL, SMALL], {}, "two catalog models are named 'smollm2'"),
    ([SMALL], {"plan": "claude"}, "alias 'plan' names 'claude', which is not in the model catalog"),
    ([SMALL, MINILM], {"default": "minilm"}, "alias 'default' must name a chat model"),
    ([SMALL], {"smollm2": "smollm2"}, "has the name of a catalog model"),
])
def test_an_inconsistent_catalog_is_a_config_error(entries: list[ModelEntry], aliases: dict[str, str],
                                                   error: str) -> None:
    with pytest.raises(ConfigError, match=error):
        ModelCatalog(entries, aliases)


def test_lanes_follow_the_provider() -> None:
    assert (SMALL.lane, SMALL.local) == ("local:chat", True)
    assert (CLAUDE.lane, CLAUDE.local) == ("cloud:anthropic-main", False)
    assert MINILM.lane == "local:embed"


def test_the_catalog_from_settings_has_the_local_roles_and_the_configured_hosted_models() -> None:
    settings = InferenceSettings(
        embed_backend="sentence-transformers",
        providers={"claude-api": {"kind": "anthropic", "api_key_env": "ANTHROPIC_API_KEY"},
                   "lab": {"kind": "openai", "base_url": "http://10.0.0.5:8000/v1", "capacity": 2}},
        # A hosted model whose name sounds local is still hosted: its provider decides.
        models=[{"name": "claude", "provider": "claude-api", "model": "claude-sonnet-4-5", "context_tokens": 200_000},
                {"name": "local-llama-70b", "provider": "lab", "capabilities": ["stream"]}],
        model_aliases={"plan": "claude"})

    catalog = build_catalog(settings)

    assert [(e.name, e.role, e.provider) for e in catalog.entries] == [
        ("SmolLM2-135M-Instruct", "chat", "local"), ("efficientnet-lite0", "vision", "local"),
        ("all-MiniLM-L6-v2", "embed", "local"), ("claude", "chat", "claude-api"), ("local-llama-70b", "chat", "lab")]
    assert catalog.aliases == {"default": "SmolLM2-135M-Instruct", "swift": "SmolLM2-135M-Instruct",
                               "plan": "claude", "vision": "efficientnet-lite0", "embed": "all-MiniLM-L6-v2"}
    hosted = catalog.resolve("chat", "local-llama-70b")
    assert (hosted.local, hosted.lane, hosted.provider_model) == (False, "cloud:lab", "local-llama-70b")
    assert catalog.resolve("chat", "default", TOOLS).name == "SmolLM2-135M-Instruct"  # tools through a grammar
    assert catalog.resolve("chat", "default", LONG_CONTEXT).name == "claude"  # 2048 tokens are too few
    assert settings.providers["claude-api"].url == "https://api.anthropic.com"


def test_a_hosted_primary_chat_model_calls_tools_and_its_lane_is_the_provider() -> None:
    catalog = build_catalog(InferenceSettings(chat_backend="openai", chat_model_name="gpt-4.1-mini",
                                              image_backend="openai", image_model="gpt-image-1"))
    chat = catalog.resolve("chat", "default", TOOLS)
    assert (chat.name, chat.lane, chat.context_tokens) == ("gpt-4.1-mini", "cloud:openai", 128_000)
    assert catalog.resolve("image", "image").lane == "cloud:openai"


def test_settings_refuse_a_model_of_an_unknown_provider() -> None:
    with pytest.raises(ValueError, match="names provider 'nowhere'"):
        InferenceSettings(models=[{"name": "x", "provider": "nowhere"}])


VLM_PROVIDERS = {"claude-api": {"kind": "anthropic", "api_key_env": "ANTHROPIC_API_KEY"},
                 "vllm": {"kind": "openai", "base_url": "http://10.0.0.7:8000/v1", "capacity": 2}}
VLM_MODELS = [{"name": "claude", "provider": "claude-api", "model": "claude-sonnet-4-5",
               "capabilities": ["stream", "tools", "vision_input"]},
              {"name": "qwen-vl", "provider": "vllm", "model": "Qwen/Qwen2.5-VL-7B-Instruct",
               "capabilities": ["stream", "vision_input"]}]


def test_vlm_vision_is_a_chat_model_that_reads_images_and_waits_in_its_providers_lane() -> None:
    settings = InferenceSettings(chat_backend="echo", vision_backend="vlm", providers=VLM_PROVIDERS,
                                 models=VLM_MODELS)

    catalog = build_catalog(settings)

    assert settings.vision_role() is None  # no Ray deployment for vision
    # `default` (the echo model) cannot read images: the first chat model that can is taken.
    vision = catalog.resolve("vision", "vision")
    assert (vision.name, vision.role, vision.provider, vision.provider_model) == (
        "vision:claude", "vision", "claude-api", "claude-sonnet-4-5")
    assert vision.lane == "cloud:claude-api" == catalog.resolve("chat", "claude").lane
    assert catalog.aliases["vision"] == "vision:claude" and len(catalog.of_role("vision")) == 1


def test_vlm_vision_model_names_the_chat_model_by_alias_or_name() -> None:
    pinned = build_catalog(InferenceSettings(chat_backend="echo", vision_backend="vlm", vision_model="qwen-vl",
                                             providers=VLM_PROVIDERS, models=VLM_MODELS))
    aliased = build_catalog(InferenceSettings(chat_backend="echo", vision_backend="vlm", vision_model="plan",
                                              providers=VLM_PROVIDERS, models=VLM_MODELS,
                                              model_aliases={"plan": "qwen-vl"}))

    for catalog in (pinned, aliased):
        vision = catalog.resolve("vision", "vision")
        assert (vision.name, vision.lane, vision.provider_model) == (
            "vision:qwen-vl", "cloud:vllm", "Qwen/Qwen2.5-VL-7B-Instruct")


@pytest.mark.parametrize(("overrides", "reason"), [
    ({}, "SmolLM2-135M-Instruct: no vision_input"),  # only the local model: it cannot read images
    ({"vision_model": "gpt", "providers": {"oa": {"kind": "openai"}},
      "models": [{"name": "gpt", "provider": "oa"}]}, "gpt: no vision_input"),  # pinned, and blind
])
def test_vlm_without_a_chat_model_that_reads_images_is_no_qualified_model_at_start(
        overrides: dict[str, object], reason: str) -> None:
    settings = InferenceSettings(vision_backend="vlm", **overrides)  # type: ignore[arg-type]

    with pytest.raises(NoQualifiedModel) as refused:
        build_catalog(settings)
    assert (refused.value.code, refused.value.role) == ("no_qualified_model", "vision")
    assert "vision_backend=vlm needs a chat model with the capability vision_input" in refused.value.message
    assert reason in refused.value.reason
