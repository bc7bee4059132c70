"""The diffusers image role without Ray: its configuration and settings, its catalog entry, the driver over the
deployment, the model-directory checks, and the replica's code run in-process on a tiny random-weight
pipeline (see `tests.support.tiny_diffusion`): PNG files of the asked size, reproducible by seed."""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

from switchboard.core.errors import InferenceError
from switchboard.core.wire import ImageRequest
from switchboard.inference.catalog import build_catalog
from switchboard.inference.deployments.config import ImageRoleConfig
from switchboard.inference.deployments.diffusion import ImageModel, load_pipeline
from switchboard.inference.deployments.errors import ModelLoadError
from switchboard.inference.deployments.placement import serve_options
from switchboard.inference.deployments.weights import resolve_image_model
from switchboard.inference.image_headers import read_image_header
from switchboard.inference.images import DeploymentImages
from switchboard.inference.providers import build_image_driver
from switchboard.inference.settings import InferenceSettings
from tests.support.tiny_diffusion import build_tiny_pipeline


@pytest.fixture(scope="module")
def pipeline_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_pipeline(tmp_path_factory.mktemp("diffusion") / "tiny-sd")


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """`load_pipeline` switches the hub off in its (replica) process; here, give the test process's back."""
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.setenv(name, os.environ.get(name, "1"))


@pytest.fixture
def replica(pipeline_dir: Path, offline: None) -> Iterator[Any]:
    """The deployment's class itself (no Serve), on CPU with two denoising steps."""
    threads = torch.get_num_threads()
    config = ImageRoleConfig(model_path=pipeline_dir, num_gpus=0, num_inference_steps=2)
    yield ImageModel.func_or_class(config)
    torch.set_num_threads(threads)  # the replica sets the process's thread count; give it back


def diffusers_settings(path: Path | str = "/models/sd-turbo", **extra: Any) -> InferenceSettings:
    return InferenceSettings(chat_backend="echo", image_backend="diffusers", image_model_path=path, **extra)


# -- configuration -----------------------------------------------------------------------------------------


def test_the_role_runs_on_one_gpu_in_half_precision_one_request_at_a_time_by_default() -> None:
    config = ImageRoleConfig(model_path="/models/sd-turbo")

    assert (config.num_gpus, config.device, config.torch_dtype) == (1.0, "cuda", "float16")
    assert (config.max_ongoing_requests, config.role_name, config.model_name) == (1, "image", "sd-turbo")
    assert config.model_path == Path("/models/sd-turbo")
    assert serve_options(config) == {"max_ongoing_requests": 1, "num_replicas": 1,
                                     "ray_actor_options": {"num_cpus": 1.0, "num_gpus": 1.0}}


def test_on_cpu_it_computes_in_float32_unless_told_otherwise() -> None:
    assert ImageRoleConfig(model_path="/m", num_gpus=0).torch_dtype == "float32"
    assert ImageRoleConfig(model_path="/m", num_gpus=0, dtype="bfloat16").torch_dtype == "bfloat16"
    assert ImageRoleConfig(model_path="/m", num_gpus=0, num_cpus=3).num_threads == 3


@pytest.mark.parametrize(("fields", "says"), [
    ({"model_path": None}, "needs model_path"),
    ({"model_path": "/m", "backend": "comfy"}, "image backend must be one of"),
    ({"model_path": "/m", "num_inference_steps": 0}, "num_inference_steps must be >= 1"),
    ({"model_path": "/m", "guidance_scale": -1}, "guidance_scale must be >= 0"),
    ({"model_path": "/m", "dtype": "int8"}, "dtype must be one of"),
    ({"model_path": "/m", "max_ongoing_requests": 0}, "image role max_ongoing_requests must be >= 1"),
])
def test_invalid_configs_are_refused(fields: dict[str, Any], says: str) -> None:
    with pytest.raises(ValueError, match=says):
        ImageRoleConfig(**fields)


# -- settings and catalog ------------------------------------------------------------------------------------


def test_the_diffusers_backend_needs_a_model_path() -> None:
    with pytest.raises(ValueError, match="image_backend=diffusers needs image_model_path"):
        InferenceSettings(image_backend="diffusers")


def test_settings_build_the_image_role() -> None:
    settings = diffusers_settings(image_num_cpus=2, image_steps=4, image_guidance_scale=0.0, image_memory_bytes=2**33,
                                  image_autoscaling={"min_replicas": 0, "max_replicas": 3})

    role = settings.image_role()

    assert role is not None
    assert (role.model_name, role.num_inference_steps, role.guidance_scale) == ("sd-turbo", 4, 0.0)
    assert (role.num_cpus, role.num_gpus, role.memory_bytes, role.max_ongoing_requests) == (2, 1.0, 2**33, 1)
    assert role.autoscaling is not None and (role.autoscaling.min_replicas, role.autoscaling.max_replicas) == (0, 3)
    named = diffusers_settings(image_model="sd-turbo-1.0", image_num_gpus=0).image_role()
    assert named is not None and (named.model_name, named.device) == ("sd-turbo-1.0", "cpu")


@pytest.mark.parametrize("backend", ["none", "openai"])
def test_other_backends_have_no_ray_image_role(backend: str) -> None:
    assert InferenceSettings(image_backend=backend, image_model_path="/m").image_role() is None


def test_a_local_image_model_is_in_the_catalog_on_its_local_lane() -> None:
    catalog = build_catalog(diffusers_settings())

    entry = catalog.resolve("image", "image")

    assert (entry.name, entry.provider, entry.local, entry.lane) == ("sd-turbo", "local", True, "local:image")
    assert catalog.aliases["image"] == "sd-turbo"
    hosted = build_catalog(InferenceSettings(chat_backend="echo", image_backend="openai")).resolve("image", "image")
    assert (hosted.name, hosted.lane) == ("dall-e-3", "cloud:openai")


# -- the driver ----------------------------------------------------------------------------------------------


class FakeDeployment:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def generate_images(self, prompt: str, width: int, height: int, count: int, seed: int | None, *,
                        traceparent: str | None = None, timeout_s: float | None = None) -> list[bytes]:
        self.calls.append((prompt, width, height, count, seed, timeout_s))
        return [b"png-1", b"png-2"][:count]


def test_the_driver_hands_the_request_to_the_deployment_as_it_is() -> None:
    deployment = FakeDeployment()
    driver = build_image_driver(diffusers_settings(image_timeout_s=42), deployment)

    generated = driver.generate(ImageRequest(prompt="a fox", width=128, height=64, count=2, seed=7))

    assert isinstance(driver, DeploymentImages) and (driver.model, driver.provider) == ("sd-turbo", "local")
    assert deployment.calls == [("a fox", 128, 64, 2, 7, 42)]
    assert (generated.images, generated.model, generated.revised_prompt) == ((b"png-1", b"png-2"), "sd-turbo", None)


def test_the_diffusers_driver_needs_the_started_deployment() -> None:
    with pytest.raises(ValueError, match="deployment was not started"):
        build_image_driver(diffusers_settings())


# -- the model directory -------------------------------------------------------------------------------------


def test_a_missing_or_wrong_model_directory_is_a_load_error_naming_it(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    (tmp_path / "empty").mkdir()
    cases = {tmp_path / "nowhere": "no such directory", tmp_path / "file": "not a directory",
             tmp_path / "empty": "no model_index.json"}
    for path, reason in cases.items():
        with pytest.raises(ModelLoadError, match=f"cannot load image model from {path}: {reason}"):
            resolve_image_model(ImageRoleConfig(model_path=path))


def test_a_pipeline_directory_with_broken_weights_is_a_load_error_naming_it(
        pipeline_dir: Path, tmp_path: Path, offline: None) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(pipeline_dir, broken)
    weights = broken / "unet" / "diffusion_pytorch_model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])

    with pytest.raises(ModelLoadError, match=rf"cannot load image model from {broken}: diffusers could not load"):
        load_pipeline(ImageRoleConfig(model_path=broken, num_gpus=0))


def test_a_reserved_gpu_that_pytorch_cannot_see_is_a_load_error(pipeline_dir: Path, offline: None) -> None:
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(ModelLoadError, match=r"reserved a GPU but PyTorch .* sees none"):
        load_pipeline(ImageRoleConfig(model_path=pipeline_dir))


# -- the replica, in-process ---------------------------------------------------------------------------------


def test_the_replica_draws_pngs_of_the_asked_size_reproducibly_by_seed(replica: Any) -> None:
    [first] = replica.generate("a fox", 128, 64, 1, 7)
    [again] = replica.generate("a fox", 128, 64, 1, 7)
    [other] = replica.generate("a fox", 128, 64, 1, 8)
    pair = replica.generate("a cat", 64, 64, 2, 7)

    header = read_image_header(first)
    assert (header.content_type, header.width, header.height) == ("image/png", 128, 64)
    assert first == again and first != other
    assert len(pair) == 2 and pair[0] != pair[1]
    assert all(read_image_header(png).width == 64 for png in pair)
    assert len({hashlib.sha256(png).digest() for png in replica.generate("a fox", 64, 64, 1, None) + pair}) == 3


def test_a_size_the_pipeline_cannot_draw_is_an_inference_error(replica: Any) -> None:
    with pytest.raises(InferenceError, match="refused the request"):
        replica.generate("a fox", 60, 60, 1, 1)  # not a multiple of the VAE's 8
