"""The Serve deployment for the embed role: texts in, unit-length vectors out.

``EmbedModel`` holds one sentence-transformers model per replica, loaded from a local directory (the
packaged all-MiniLM-L6-v2 by default) with the Hugging Face hub switched off: weights never download at
run time. Like the vision role, PyTorch is imported by the replica's constructor only; resources and
scaling come only from the config, via ``build_embed_app``.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from ray import serve
from ray.serve import Application

from switchboard.inference.deployments.config import EMBED_ROLE, EmbedRoleConfig
from switchboard.inference.deployments.errors import ModelLoadError
from switchboard.inference.deployments.placement import serve_options
from switchboard.inference.deployments.weights import forbid_hub_downloads, resolve_embed_model

EMBED_DEPLOYMENT_NAME = "EmbedModel"
# A replica encodes at most this many texts per forward pass; longer lists run in several.
BATCH_SIZE = 32

_logger = logging.getLogger("ray.serve")


def load_encoder(config: EmbedRoleConfig) -> Any:
    """The sentence-transformers model of ``config``; raises ``ModelLoadError`` naming the directory."""
    path = resolve_embed_model(config)
    forbid_hub_downloads()
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(config.num_threads)
    device = "cuda" if config.num_gpus > 0 else "cpu"
    try:
        return SentenceTransformer(str(path), device=device, local_files_only=True)
    except (OSError, ValueError, RuntimeError) as exc:
        raise ModelLoadError(path, f"sentence-transformers could not load it ({str(exc).splitlines()[0][:300]})",
                             EMBED_ROLE) from None


@serve.deployment(name=EMBED_DEPLOYMENT_NAME)
class EmbedModel:
    """One embed replica; a ``ModelLoadError`` in the constructor fails it (and, after Serve's retries,
    the deployment)."""

    def __init__(self, config: EmbedRoleConfig) -> None:
        self._encoder = load_encoder(config)
        self._max_tokens = int(self._encoder.max_seq_length)
        _logger.info("embed replica ready: model=%s dimensions=%d threads=%d", config.model_name,
                     self._encoder.get_embedding_dimension(), config.num_threads)

    def embed(self, texts: list[str], traceparent: str | None = None) -> tuple[np.ndarray, int]:
        """``(vectors, max_tokens)``: one float32 row of unit length per text, and the token limit past which
        a text's end was ignored. A sync method: Serve runs it in a worker thread."""
        _logger.debug("embed texts=%d traceparent=%s", len(texts), traceparent)
        vectors = self._encoder.encode(list(texts), batch_size=BATCH_SIZE, normalize_embeddings=True,
                                       convert_to_numpy=True, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32), self._max_tokens


def build_embed_app(config: EmbedRoleConfig) -> Application:
    """The embed role's Serve application, sized from ``config``."""
    return EmbedModel.options(**serve_options(config)).bind(config)
