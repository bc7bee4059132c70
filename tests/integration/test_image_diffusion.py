"""The diffusers image role on a real local Ray cluster and Serve, through a real Celery inference worker on a
real Redis, with the service's own admission. No pretrained weights: the pipeline is the tiny random-weight
one of `tests.support.tiny_diffusion`, written with `save_pretrained` and loaded back the way a real one is.

One module-scoped host runs the image role on CPU (this machine has no GPU); the hosts of the failure tests
join its cluster with their own application names and never deploy.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
import redis
from celery import Celery
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from ray import serve

from switchboard.core.blobs import SyncBlobStore
from switchboard.core.keys import blob
from switchboard.core.metrics import Metrics
from switchboard.core.redis_client import connect_sync
from switchboard.core.wire import ImageRequest, ImageResult
from switchboard.inference.__main__ import _admission, _start_host
from switchboard.inference.bridge import InferenceBridge
from switchboard.inference.chat_models import build_chat_models
from switchboard.inference.deployments.config import ImageRoleConfig, RayConfig
from switchboard.inference.deployments.errors import ModelLoadError, PlacementError
from switchboard.inference.deployments.host import ModelHost
from switchboard.inference.image_headers import read_image_header
from switchboard.inference.images import ImageGenerator
from switchboard.inference.providers import build_image_driver
from switchboard.inference.settings import InferenceSettings
from tests.support.echo_chat import EchoChat
from tests.support.ray_hosts import started
from tests.support.steps import run_step, start_inference_worker
from tests.support.tiny_diffusion import build_tiny_pipeline

PREFIX = "diffusion-"
MODEL = "tiny-sd"
STEPS = 2
SMALL_CPU = 0.5  # one PyTorch thread; leaves the two-CPU test cluster room for the other roles' tests


@pytest.fixture(scope="module")
def pipeline_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_pipeline(tmp_path_factory.mktemp("diffusion") / MODEL)


@pytest.fixture(scope="module")
def image_host(pipeline_dir: Path) -> Iterator[ModelHost]:
    config = ImageRoleConfig(model_path=pipeline_dir, num_gpus=0, num_cpus=SMALL_CPU,
                             num_inference_steps=STEPS)
    host = ModelHost(RayConfig(), image=config, app_prefix=PREFIX, start_timeout_s=120)
    with started(host):
        yield host


@pytest.fixture
def settings(redis_url: str, pipeline_dir: Path) -> InferenceSettings:
    return InferenceSettings(redis_url=redis_url, chat_backend="echo", vision_backend="none",
                             image_backend="diffusers", image_model_path=pipeline_dir, image_num_gpus=0,
                             image_num_cpus=SMALL_CPU, image_steps=STEPS)


@pytest.fixture
def inference(settings: InferenceSettings, image_host: ModelHost, redis_url: str,
              spans: tuple[TracerProvider, InMemorySpanExporter]) -> Iterator[Callable[[], Celery]]:
    """Start a real inference worker whose image role is the module's deployment, as
    `python -m switchboard.inference` wires it (admission included), with the test's tracer."""
    with ExitStack() as stack:
        def start() -> Celery:
            metrics = Metrics()
            client = redis.Redis.from_url(redis_url, decode_responses=True)
            driver = build_image_driver(settings, image_host)
            assert driver is not None
            blobs = SyncBlobStore(connect_sync(settings, decode_responses=False), settings.image_retention_s)
            images = ImageGenerator(driver, blobs, metrics, settings.image_max_bytes, settings.trace_content,
                                    tracer=spans[0].get_tracer("test"))
            bridge = InferenceBridge(build_chat_models(settings, EchoChat()), client, metrics,
                                     settings.live_interval_s, settings.trace_content, images=images,
                                     admission=_admission(settings, image_host, client, metrics))
            return start_inference_worker(stack, settings, bridge, client, metrics, "test-diffusion")

        yield start


def stored(redis_url: str, result: Any) -> list[bytes]:
    """The PNG files of an image step's result, read back from their blobs."""
    assert result.error is None, result.error
    assert isinstance(result.output, ImageResult)
    blobs = redis.Redis.from_url(redis_url)
    files = [blobs.get(blob(ref.sha256)) for ref in result.output.images]
    assert all(files)
    return files


def test_the_role_reports_its_running_replica(image_host: ModelHost) -> None:
    assert image_host.replicas() == {"image": 1}


def test_images_are_drawn_stored_as_png_blobs_and_reproducible_by_seed(
        inference: Callable[[], Celery], redis_url: str, spans: tuple[TracerProvider, InMemorySpanExporter]) -> None:
    app = inference()

    began = time.perf_counter()
    first = run_step(app, redis_url, ImageRequest(prompt="a fox", width=128, height=64, seed=7), "i1")
    took = time.perf_counter() - began
    again = run_step(app, redis_url, ImageRequest(prompt="a fox", width=128, height=64, seed=7), "i1")
    other = run_step(app, redis_url, ImageRequest(prompt="a fox", width=128, height=64, seed=8), "i1")
    pair = run_step(app, redis_url, ImageRequest(prompt="a cat", width=64, height=64, count=2, seed=7), "i1")

    [png] = stored(redis_url, first)
    assert stored(redis_url, again) == [png] and stored(redis_url, other) != [png]
    [ref] = first.output.images  # type: ignore[union-attr]
    assert (ref.filename, ref.content_type, ref.width, ref.height) == ("image-1.png", "image/png", 128, 64)
    header = read_image_header(png)
    assert (header.content_type, header.width, header.height) == ("image/png", 128, 64)
    assert first.output.model == MODEL  # type: ignore[union-attr]
    two = stored(redis_url, pair)
    assert len(two) == 2 and two[0] != two[1]
    assert [(r.filename, r.width, r.height) for r in pair.output.images] == [  # type: ignore[union-attr]
        ("image-1.png", 64, 64), ("image-2.png", 64, 64)]
    assert took < 10, f"one tiny image took {took:.1f} s"
    generated = [span for span in spans[1].get_finished_spans() if span.name == f"generate_image {MODEL}"]
    assert len(generated) == 4
    assert generated[0].attributes["gen_ai.provider.name"] == "local"
    samples = app.metrics.registry.get_sample_value  # type: ignore[attr-defined]
    assert samples("switchboard_hop_duration_seconds_count", {"hop": "image_provider"}) == 4


def test_the_gpu_default_fails_at_start_naming_the_role_and_deploys_nothing(
        image_host: ModelHost, pipeline_dir: Path) -> None:
    host = ModelHost(RayConfig(), image=ImageRoleConfig(model_path=pipeline_dir), app_prefix="diffusion-gpu-")

    began = time.perf_counter()
    with pytest.raises(PlacementError, match="image role asks for 1 GPU but the Ray cluster has 0 GPU") as raised:
        host.start()

    assert time.perf_counter() - began < 10
    assert "set the image role's num_gpus to 0" in str(raised.value)
    assert "diffusion-gpu-image" not in serve.status().applications


def test_the_service_exits_at_start_when_the_image_role_wants_a_gpu(
        image_host: ModelHost, pipeline_dir: Path, redis_url: str, caplog: pytest.LogCaptureFixture) -> None:
    settings = InferenceSettings(redis_url=redis_url, chat_backend="openai", image_backend="diffusers",
                                 image_model_path=pipeline_dir)
    caplog.set_level(logging.ERROR, logger="switchboard.inference")

    with pytest.raises(SystemExit) as exited:
        _start_host(settings)

    assert exited.value.code == 2
    assert "image role asks for 1 GPU" in caplog.text


@pytest.mark.parametrize("where", ["nowhere", "not-a-pipeline"])
def test_a_missing_or_invalid_model_directory_fails_at_start_naming_it(
        image_host: ModelHost, tmp_path: Path, where: str) -> None:
    path = tmp_path / where
    if where == "not-a-pipeline":
        path.mkdir()
        (path / "config.json").write_text("{}")
    config = ImageRoleConfig(model_path=path, num_gpus=0, num_cpus=SMALL_CPU)
    host = ModelHost(RayConfig(), image=config, app_prefix="diffusion-nofile-")

    with pytest.raises(ModelLoadError, match=f"cannot load image model from {path}"):
        host.start()
    assert "diffusion-nofile-image" not in serve.status().applications
