"""Settings of the inference service (`SWITCHBOARD_*` environment variables, plus `RAY_ADDRESS`).

The vision role (image recognition, `SWITCHBOARD_VISION_BACKEND`): `efficientnet` runs the EfficientNet-Lite0
ImageNet classifier as a Ray Serve deployment beside the chat role; `none` refuses vision requests with
`RoleNotConfigured`. Left unset, it follows the chat backend: `efficientnet` beside the local `llama` model
(what `./dev run` starts), `none` with `echo` (benchmarks and pipeline tests, which should not pay for loading
PyTorch) and with `openai` (a hosted-API deployment that runs no Ray). Set explicitly with `chat_backend=openai`,
`efficientnet` starts (or joins, with `RAY_ADDRESS`) a Ray cluster for the vision role alone, so every local
model runs where its resources are declared and checked. `vlm` runs no local model: a chat model of the
catalog that can read images (capability `vision_input`: GPT-4o, Claude, Gemini, or a VLM behind an
OpenAI-compatible server such as vLLM) describes each image in a sentence or two. `SWITCHBOARD_VISION_MODEL`
(an alias or catalog name, `default` unless set) picks it the way a chat request picks its model; when no
chat model qualifies the service does not start (`NoQualifiedModel`), since every vision step would fail
alike. Its calls wait in that model's provider lane, and its provider's `timeout_s` bounds them (the
`vision_timeout_s` is the classifier's). The embed role (text embeddings,
`SWITCHBOARD_EMBED_BACKEND=sentence-transformers`) is off unless asked for.

The image role (`SWITCHBOARD_IMAGE_BACKEND`): `none` refuses image requests; `openai` calls a hosted
OpenAI-compatible Images API; `diffusers` runs a diffusers text-to-image pipeline on Ray Serve from the
`save_pretrained` directory `SWITCHBOARD_IMAGE_MODEL_PATH` names (required: there is no packaged default and
nothing is downloaded), on one GPU per replica unless `SWITCHBOARD_IMAGE_NUM_GPUS=0`.

Each Ray role takes its resources per replica (`*_NUM_CPUS`, `*_NUM_GPUS`, `*_MEMORY_BYTES`), its
`*_MAX_ONGOING_REQUESTS`, and either a fixed `*_NUM_REPLICAS` or `*_AUTOSCALING` as JSON
(`{"min_replicas": 1, "max_replicas": 4, "target_ongoing_requests": 1}`).

Hosted models beyond the primary chat model: `SWITCHBOARD_PROVIDERS` (JSON, name -> `{"kind": "openai" |
"anthropic" | "gemini", "base_url", "api_key_env", "capacity", "timeout_s"}`; the key is read from the
environment variable `api_key_env` names, which Kubernetes fills from a secret) and `SWITCHBOARD_MODELS`
(JSON list of `{"name", "provider", "model", "role", "capabilities", "context_tokens"}`).
`SWITCHBOARD_MODEL_ALIASES` (JSON) points the aliases (`default`, `swift`, `plan`, `vision`, `image`,
`embed`) at catalog models; see `resolver`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Self

from pydantic import AliasChoices, BaseModel, Field, SecretStr, model_validator

from switchboard.core.settings import ServiceSettings
from switchboard.core.wire import LaneStats
from switchboard.inference.deployments.config import (
    Autoscaling,
    ChatRoleConfig,
    EmbedRoleConfig,
    ImageDtype,
    ImageRoleConfig,
    RayConfig,
    VisionRoleConfig,
)

ProviderKind = Literal["openai", "anthropic", "gemini"]
DEFAULT_BASE_URLS: dict[str, str] = {"openai": "https://api.openai.com/v1",
                                     "anthropic": "https://api.anthropic.com",
                                     "gemini": "https://generativelanguage.googleapis.com"}


class AutoscalingSettings(BaseModel, extra="forbid"):
    min_replicas: int = Field(default=1, ge=0)
    max_replicas: int = Field(default=1, ge=1)
    target_ongoing_requests: float = Field(default=2.0, gt=0)


class ProviderSettings(BaseModel, extra="forbid"):
    """A hosted model API; `api_key_env` names the environment variable holding its key (never the key)."""

    kind: ProviderKind
    base_url: str | None = None
    api_key_env: str | None = None
    capacity: int = Field(default=4, ge=1, description="requests this provider runs at once for us")
    timeout_s: float = Field(default=60.0, gt=0)

    @property
    def url(self) -> str:
        return self.base_url or DEFAULT_BASE_URLS[self.kind]


class CloudModelSettings(BaseModel, extra="forbid"):
    """A hosted model in the catalog; `model` is the provider's id for it (default: `name`)."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,127}$")
    provider: str
    model: str | None = None
    role: Literal["chat"] = "chat"
    capabilities: frozenset[str] = frozenset({"stream", "tools"})
    context_tokens: int = Field(default=128_000, ge=1)


class InferenceSettings(ServiceSettings):
    # "llama" and "echo" run on Ray Serve; "openai" calls an OpenAI-compatible Chat Completions API
    # (`POST {chat_base_url}/chat/completions`, streamed) from the bridge, without Ray, sending `chat_model_name`.
    chat_backend: Literal["llama", "echo", "openai"] = "llama"
    chat_base_url: str = "https://api.openai.com/v1"
    chat_api_key: SecretStr | None = Field(default=None, description="sent as a bearer token; never logged")
    chat_timeout_s: float = Field(default=60.0, gt=0, description="per connect/read wait, not the whole answer")
    chat_model_path: Path | None = Field(default=None, description="GGUF file; None uses the packaged SmolLM2")
    chat_model_name: str = "SmolLM2-135M-Instruct"
    chat_n_ctx: int = Field(default=2048, ge=256)
    chat_n_threads: int = Field(default=2, ge=1)
    # Tokens a chat replica generates within this many seconds of the last chunk it sent go as one chunk:
    # each chunk costs Ray a streamed object. 0 sends every token on its own.
    chat_stream_coalesce_s: float = Field(default=0.05, ge=0, le=1.0)
    chat_num_cpus: float = Field(default=1.0, ge=0)
    chat_num_gpus: float = Field(default=0.0, ge=0)
    chat_memory_bytes: int | None = None
    # None: 1 for llama (a llama.cpp context generates one answer at a time), 8 for echo.
    chat_max_ongoing_requests: int | None = Field(default=None, ge=1)
    chat_num_replicas: int = Field(default=1, ge=1)
    chat_autoscaling: AutoscalingSettings | None = None
    chat_context_tokens: int = Field(default=128_000, ge=1, description="the hosted chat model's window")
    chat_cloud_capacity: int = Field(default=4, ge=1, description="hosted API requests a turn plan runs at once")
    ray_address: str | None = Field(
        default=None, validation_alias=AliasChoices("RAY_ADDRESS", "SWITCHBOARD_RAY_ADDRESS"))
    ray_num_cpus: int | None = 2
    ray_object_store_memory: int = 200 * 2**20
    bridge_concurrency: int = Field(default=4, ge=1)
    # Deltas are cumulative; publishing every ~0.1 s instead of every token keeps pub/sub traffic small.
    live_interval_s: float = Field(default=0.1, ge=0)
    # The image role: "none" refuses image requests with RoleNotConfigured; "openai" calls an
    # OpenAI-compatible Images API (`POST {image_base_url}/images/generations`); "diffusers" runs the
    # pipeline in `image_model_path` on Ray Serve (a GPU per replica by default).
    image_backend: Literal["none", "openai", "diffusers"] = "none"
    image_base_url: str = "https://api.openai.com/v1"
    image_model: str | None = Field(default=None, description="None: dall-e-3 (openai), the directory's name "
                                                              "(diffusers)")
    image_api_key: SecretStr | None = Field(default=None, description="sent as a bearer token; never logged")
    image_timeout_s: float = Field(default=60.0, gt=0)
    image_max_bytes: int = Field(default=8 * 2**20, ge=1024)
    image_retention_s: int = Field(default=7 * 24 * 3600, ge=60, description="how long generated images stay")
    image_model_path: Path | None = Field(default=None, description="diffusers: a save_pretrained pipeline "
                                                                    "directory; required, never downloaded")
    image_num_cpus: float = Field(default=1.0, ge=0, description="per replica; also its PyTorch thread count")
    image_num_gpus: float = Field(default=1.0, ge=0, description="0 runs the pipeline on CPU (slowly)")
    image_memory_bytes: int | None = None
    # A pipeline draws one batch at a time: more would only queue inside the replica.
    image_max_ongoing_requests: int = Field(default=1, ge=1)
    image_num_replicas: int = Field(default=1, ge=1)
    image_autoscaling: AutoscalingSettings | None = None
    image_steps: int = Field(default=25, ge=1, description="denoising steps per picture")
    image_guidance_scale: float = Field(default=7.5, ge=0, description="classifier-free guidance; <= 1 is off")
    image_dtype: ImageDtype | None = Field(default=None, description="None: float16 on GPU, float32 on CPU")
    # The vision role (see the module docstring for the default, which follows chat_backend).
    vision_backend: Literal["none", "efficientnet", "vlm"] = "none"
    # vlm: which chat model describes images (resolved with the capability vision_input), and how it is asked.
    vision_model: str = Field(default="default", pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,127}$")
    vision_prompt: str = Field(default="Describe this image in one or two sentences.", min_length=1,
                               max_length=2000)
    vision_max_tokens: int = Field(default=200, ge=1, le=4096, description="the length of a caption, at most")
    # vlm: bigger pictures are sent as a smaller copy (see vlm_image); 3.75 MB is 5 MB once base64-encoded.
    vision_max_edge: int = Field(default=1568, ge=256, le=8192, description="pixels on the long edge, at most")
    vision_max_upload_bytes: int = Field(default=3_750_000, ge=65_536, description="one image's file, at most")
    vision_model_path: Path | None = Field(default=None, description="a .pth state dict; None: the packaged one")
    vision_num_cpus: float = Field(default=1.0, ge=0, description="per replica; also its PyTorch thread count")
    vision_num_gpus: float = Field(default=0.0, ge=0)
    vision_memory_bytes: int | None = None
    vision_max_ongoing_requests: int = Field(default=4, ge=1)
    vision_num_replicas: int = Field(default=1, ge=1)
    vision_autoscaling: AutoscalingSettings | None = None
    vision_timeout_s: float = Field(default=30.0, gt=0, description="wait for one classification")
    vision_max_image_bytes: int = Field(default=25 * 2**20, ge=1024, description="larger files are refused")
    vision_max_pixels: int = Field(default=40_000_000, ge=1, description="width x height, read before decoding")
    # The embed role: "none" refuses embed requests with RoleNotConfigured.
    embed_backend: Literal["none", "sentence-transformers"] = "none"
    embed_model_path: Path | None = Field(default=None, description="a model directory; None: the packaged one")
    embed_model_name: str = "all-MiniLM-L6-v2"
    embed_num_cpus: float = Field(default=1.0, ge=0, description="per replica; also its PyTorch thread count")
    embed_num_gpus: float = Field(default=0.0, ge=0)
    embed_memory_bytes: int | None = None
    embed_max_ongoing_requests: int = Field(default=4, ge=1)
    embed_num_replicas: int = Field(default=1, ge=1)
    embed_autoscaling: AutoscalingSettings | None = None
    embed_timeout_s: float = Field(default=30.0, gt=0)
    # Lanes: a request waits up to lane_wait_s for a slot of its model's lane; when lane_queue_limit
    # requests already wait, it is refused at once (LaneBackpressure).
    lane_wait_s: float = Field(default=20.0, ge=0)
    lane_queue_limit: int = Field(default=32, ge=0)
    providers: dict[str, ProviderSettings] = Field(default_factory=dict)
    models: list[CloudModelSettings] = Field(default_factory=list)
    model_aliases: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _vision_follows_chat_by_default(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("vision_backend") is None:
            local_model = data.get("chat_backend", "llama") == "llama"
            data = {**data, "vision_backend": "efficientnet" if local_model else "none"}
        return data

    @model_validator(mode="after")
    def _provider_calls_end_before_the_task(self) -> Self:
        # Celery's soft limit is task_time_limit_s - 5: a provider call must give up (ModelUnavailable)
        # before the task is killed, or the step ends without a recorded result.
        for name in ("image_timeout_s", "chat_timeout_s", "vision_timeout_s", "embed_timeout_s"):
            if getattr(self, name) >= self.task_time_limit_s - 5:
                raise ValueError(f"{name} ({getattr(self, name):g}) must be below task_time_limit_s - 5 "
                                 f"({self.task_time_limit_s - 5})")
        return self

    @model_validator(mode="after")
    def _local_images_need_a_pipeline(self) -> Self:
        if self.image_backend == "diffusers" and self.image_model_path is None:
            raise ValueError("image_backend=diffusers needs image_model_path (SWITCHBOARD_IMAGE_MODEL_PATH): a "
                             "diffusers pipeline directory written by save_pretrained; none is downloaded")
        return self

    @model_validator(mode="after")
    def _providers_are_named(self) -> Self:
        for model in self.models:
            if model.provider not in self.providers:
                raise ValueError(f"model {model.name!r} names provider {model.provider!r}, which is not in "
                                 f"providers ({', '.join(self.providers) or 'none configured'})")
        return self

    def chat_role(self) -> ChatRoleConfig:
        """The Ray chat role; only for the `llama` and `echo` backends (`openai` runs no Ray)."""
        concurrent = self.chat_max_ongoing_requests or (8 if self.chat_backend == "echo" else 1)
        return ChatRoleConfig(
            backend=self.chat_backend, model_path=self.chat_model_path,
            model_name="echo" if self.chat_backend == "echo" else self.chat_model_name,
            n_ctx=self.chat_n_ctx, n_threads=self.chat_n_threads, stream_coalesce_s=self.chat_stream_coalesce_s,
            **self._replicas("chat", max_ongoing_requests=concurrent))

    def vision_role(self) -> VisionRoleConfig | None:
        """The Ray vision role; None when `vision_backend` is `none`, or `vlm` (a chat model, no Ray)."""
        if self.vision_backend != "efficientnet":
            return None
        return VisionRoleConfig(backend=self.vision_backend, model_path=self.vision_model_path,
                                **self._replicas("vision"))

    def embed_role(self) -> EmbedRoleConfig | None:
        """The Ray embed role; None when `embed_backend` is `none`."""
        if self.embed_backend == "none":
            return None
        return EmbedRoleConfig(backend=self.embed_backend, model_path=self.embed_model_path,
                               model_name=self.embed_model_name, **self._replicas("embed"))

    def image_role(self) -> ImageRoleConfig | None:
        """The Ray image role; None unless `image_backend` is `diffusers`."""
        if self.image_backend != "diffusers" or self.image_model_path is None:
            return None
        return ImageRoleConfig(backend="diffusers", model_path=self.image_model_path,
                               model_name=self.image_model or "", num_inference_steps=self.image_steps,
                               guidance_scale=self.image_guidance_scale, dtype=self.image_dtype,
                               **self._replicas("image"))

    def image_model_name(self) -> str:
        """The image model's name in the catalog and on spans: `image_model`, else the backend's default."""
        if self.image_backend == "diffusers" and (role := self.image_role()) is not None:
            return role.model_name
        return self.image_model or "dall-e-3"

    def _replicas(self, role: str, **overrides: Any) -> dict[str, Any]:
        """The `ReplicaConfig` fields of a role, from its `<role>_*` settings."""
        scaling: AutoscalingSettings | None = getattr(self, f"{role}_autoscaling")
        fields = {name: getattr(self, f"{role}_{name}") for name in
                  ("num_cpus", "num_gpus", "memory_bytes", "max_ongoing_requests", "num_replicas")}
        fields["autoscaling"] = Autoscaling(**scaling.model_dump()) if scaling else None
        fields.update(overrides)
        return fields

    def chat_lane(self) -> LaneStats:
        """The primary chat model's lane as planners first see it: its capacity (at start; the inference
        service admits by live replicas), and guesses of its speed until requests are measured."""
        if self.chat_backend == "openai":
            return LaneStats(lane="cloud:openai", local=False, capacity=self.chat_cloud_capacity,
                             time_to_first_token_s=1.0, tokens_per_s=50.0)
        role = self.chat_role()
        capacity = role.replicas_at_start * role.max_ongoing_requests
        if self.chat_backend == "echo":
            return LaneStats(lane="local:chat", local=True, capacity=capacity, time_to_first_token_s=0.01,
                             tokens_per_s=1000.0)
        return LaneStats(lane="local:chat", local=True, capacity=capacity, time_to_first_token_s=0.5,
                         tokens_per_s=20.0)

    def ray(self) -> RayConfig:
        return RayConfig(address=self.ray_address, num_cpus=self.ray_num_cpus,
                         object_store_memory=self.ray_object_store_memory)
