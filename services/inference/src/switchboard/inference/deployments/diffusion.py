"""The Serve deployment for the image role: a prompt in, PNG files out, from a diffusers pipeline.

``ImageModel`` holds one text-to-image pipeline per replica, loaded from the configured ``save_pretrained``
directory with the Hugging Face hub switched off, so weights never download at run time. Like the other
roles, PyTorch and diffusers are imported by the replica's constructor only (the process that builds or
calls the application stays light); resources and scaling come only from the config, via
``build_image_app``.

Pictures are reproducible: each request seeds its own CPU ``torch.Generator`` (drawn at random when the
request has no seed), so one seed starts from the same noise on every replica, CPU or GPU.
"""

from __future__ import annotations

import io
import logging
import secrets
import threading
from typing import Any

from ray import serve
from ray.serve import Application

from switchboard.core.errors import InferenceError
from switchboard.inference.deployments.config import IMAGE_ROLE, ImageRoleConfig
from switchboard.inference.deployments.errors import ModelLoadError
from switchboard.inference.deployments.placement import serve_options
from switchboard.inference.deployments.weights import forbid_hub_downloads, resolve_image_model

IMAGE_DEPLOYMENT_NAME = "ImageModel"
SEED_MODULUS = 2**64  # what torch.Generator.manual_seed accepts; larger or negative seeds wrap

_logger = logging.getLogger("ray.serve")


def load_pipeline(config: ImageRoleConfig) -> Any:
    """The text-to-image pipeline of ``config`` on its device; raises ``ModelLoadError`` naming the directory."""
    path = resolve_image_model(config)
    forbid_hub_downloads()
    import torch
    from diffusers import AutoPipelineForText2Image
    from diffusers.utils import logging as diffusers_logging
    from transformers.utils import logging as transformers_logging

    torch.set_num_threads(config.num_threads)
    diffusers_logging.disable_progress_bar()  # loading bars are noise in a replica's log
    transformers_logging.disable_progress_bar()
    if config.device == "cuda" and not torch.cuda.is_available():
        raise ModelLoadError(path, f"the replica reserved a GPU but PyTorch {torch.__version__} sees none "
                                   "(a CPU-only build?)", IMAGE_ROLE)
    try:
        pipeline = AutoPipelineForText2Image.from_pretrained(
            str(path), dtype=getattr(torch, config.torch_dtype), local_files_only=True)
        pipeline = pipeline.to(config.device)
    except Exception as exc:  # broad on purpose: whatever diffusers raises while loading, this directory failed
        raise ModelLoadError(path, f"diffusers could not load it ({type(exc).__name__}: {_first_line(exc)})",
                             IMAGE_ROLE) from None
    pipeline.set_progress_bar_config(disable=True)
    return pipeline


def _first_line(exc: BaseException) -> str:
    """An exception's first line, short: library messages can run to pages."""
    return next(iter(str(exc).splitlines()), "")[:300]


def encode_png(image: Any) -> bytes:
    """A PIL image as PNG file bytes (lossless, and the same bytes for the same pixels)."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@serve.deployment(name=IMAGE_DEPLOYMENT_NAME)
class ImageModel:
    """One image replica; a ``ModelLoadError`` in the constructor fails it (and, after Serve's retries,
    the deployment)."""

    def __init__(self, config: ImageRoleConfig) -> None:
        self._config = config
        self._pipeline = load_pipeline(config)
        # A pipeline's scheduler holds the timesteps of the call in progress: one call at a time per replica.
        self._lock = threading.Lock()
        _logger.info("image replica ready: model=%s pipeline=%s device=%s dtype=%s steps=%d threads=%d",
                     config.model_name, type(self._pipeline).__name__, config.device, config.torch_dtype,
                     config.num_inference_steps, config.num_threads)

    def generate(self, prompt: str, width: int, height: int, count: int, seed: int | None,
                 traceparent: str | None = None) -> list[bytes]:
        """``count`` PNG files of ``width`` x ``height`` pixels for ``prompt``; the same seed gives the same
        files. A sync method: Serve runs it in a worker thread. Raises ``InferenceError`` for a request the
        pipeline refuses (a size it cannot draw) or one that does not fit in the GPU's memory."""
        import torch

        seed = secrets.randbits(63) if seed is None else seed % SEED_MODULUS
        _logger.debug("generate %dx%d count=%d seed=%d traceparent=%s", width, height, count, seed, traceparent)
        generator = torch.Generator(device="cpu").manual_seed(seed)
        try:
            with self._lock:
                output = self._pipeline(
                    prompt=prompt, width=width, height=height, num_images_per_prompt=count,
                    num_inference_steps=self._config.num_inference_steps,
                    guidance_scale=self._config.guidance_scale, generator=generator, output_type="pil")
        except torch.cuda.OutOfMemoryError:
            raise InferenceError(f"the image model ran out of GPU memory drawing {count} image(s) of "
                                 f"{width}x{height}; ask for fewer or smaller images") from None
        except ValueError as exc:
            raise InferenceError(f"the image model refused the request: {_first_line(exc)}") from None
        return [encode_png(image) for image in output.images]


def build_image_app(config: ImageRoleConfig) -> Application:
    """The image role's Serve application, sized from ``config``."""
    return ImageModel.options(**serve_options(config)).bind(config)
