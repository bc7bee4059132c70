"""The Serve deployment for the vision role.

``VisionModel`` holds one ``ImageClassifier`` per replica. Its resources and scaling come only from
the config, via ``build_vision_app``; the decorator sets none of them. PyTorch is imported by the
replica's constructor, never by the process that builds or calls the application.
"""

from __future__ import annotations

import logging

import numpy as np
from ray import serve
from ray.serve import Application

from switchboard.inference.deployments.config import VisionRoleConfig
from switchboard.inference.deployments.placement import serve_options

VISION_DEPLOYMENT_NAME = "VisionModel"

_logger = logging.getLogger("ray.serve")


@serve.deployment(name=VISION_DEPLOYMENT_NAME)
class VisionModel:
    """One vision replica; a ``ModelLoadError`` in the constructor fails it (and, after Serve's retries,
    the deployment)."""

    def __init__(self, config: VisionRoleConfig) -> None:
        from switchboard.inference.deployments.classifier import ImageClassifier

        self._classifier = ImageClassifier(config)
        _logger.info("vision replica ready: backend=%s model=%s threads=%d", config.backend, config.model_name,
                     config.num_threads)

    def classify(self, pixels: np.ndarray, top_k: int, traceparent: str | None = None) -> list[tuple[str, float]]:
        """``(label, probability)`` pairs, best first, for pixels from ``pixels.decode_image``.

        A sync method: Serve runs it in a worker thread, so the replica's event loop stays free. Raises
        ``InvalidImage`` for input of the wrong shape or type.
        """
        _logger.debug("classify top_k=%d traceparent=%s", top_k, traceparent)
        return self._classifier.classify(pixels, top_k)


def build_vision_app(config: VisionRoleConfig) -> Application:
    """The vision role's Serve application, sized from ``config``."""
    return VisionModel.options(**serve_options(config)).bind(config)
