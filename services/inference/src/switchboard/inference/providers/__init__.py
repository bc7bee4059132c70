"""Drivers of hosted model APIs (no Ray). Chat drivers are built per catalog model by `chat_models`; the
image role's driver is built here, as the settings ask."""

from __future__ import annotations

from switchboard.core.blobs import SyncBlobStore
from switchboard.core.metrics import Metrics
from switchboard.core.redis_client import connect_sync
from switchboard.inference.images import ImageDriver, ImageGenerator
from switchboard.inference.providers.openai_images import OpenAIImages
from switchboard.inference.settings import InferenceSettings


def build_image_driver(settings: InferenceSettings) -> ImageDriver | None:
    """The driver `image_backend` names; None when the image role is off (`none`)."""
    if settings.image_backend == "openai":
        return OpenAIImages(settings.image_base_url, settings.image_model, settings.image_api_key,
                            settings.image_timeout_s)
    return None


def build_image_generator(settings: InferenceSettings, metrics: Metrics) -> ImageGenerator | None:
    """The image role as configured; None (every image request refused with `RoleNotConfigured`) when off."""
    driver = build_image_driver(settings)
    if driver is None:
        return None
    blobs = SyncBlobStore(connect_sync(settings, decode_responses=False), settings.image_retention_s)
    return ImageGenerator(driver, blobs, metrics, settings.image_max_bytes, settings.trace_content)
