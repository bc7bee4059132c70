"""Drivers of hosted model APIs (no Ray). Chat drivers are built per catalog model by `chat_models`; the
image role's driver is built here, as the settings ask: a hosted Images API, or the local diffusers
deployment that `ModelHost` runs."""

from __future__ import annotations

from switchboard.core.blobs import SyncBlobStore
from switchboard.core.metrics import Metrics
from switchboard.core.redis_client import connect_sync
from switchboard.inference.images import DeploymentImages, ImageDeployment, ImageDriver, ImageGenerator
from switchboard.inference.providers.openai_images import OpenAIImages
from switchboard.inference.settings import InferenceSettings


def build_image_driver(settings: InferenceSettings, deployment: ImageDeployment | None = None) -> ImageDriver | None:
    """The driver `image_backend` names; None when the image role is off (`none`).

    `deployment` is the started `ModelHost` holding the image role (`diffusers`); raises `ValueError` when that
    backend is configured but none is given (a start-up bug, not a configuration).
    """
    if settings.image_backend == "diffusers":
        if deployment is None:
            raise ValueError("the image role is configured (diffusers) but its deployment was not started")
        return DeploymentImages(deployment, settings.image_model_name(), settings.image_timeout_s)
    if settings.image_backend == "openai":
        return OpenAIImages(settings.image_base_url, settings.image_model_name(), settings.image_api_key,
                            settings.image_timeout_s)
    return None


def build_image_generator(settings: InferenceSettings, metrics: Metrics,
                          deployment: ImageDeployment | None = None) -> ImageGenerator | None:
    """The image role as configured; None (every image request refused with `RoleNotConfigured`) when off."""
    driver = build_image_driver(settings, deployment)
    if driver is None:
        return None
    blobs = SyncBlobStore(connect_sync(settings, decode_responses=False), settings.image_retention_s)
    return ImageGenerator(driver, blobs, metrics, settings.image_max_bytes, settings.trace_content)
