"""The vision role's model without Ray: EfficientNet-Lite0 with the packaged weights, the ImageNet labels,
decoding, and the role's configuration. Real weights and real photographs (tests/fixtures/images)."""

from __future__ import annotations

import io
import pickle
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from switchboard.inference.deployments.classifier import ImageClassifier, load_labels, load_network
from switchboard.inference.deployments.config import ChatRoleConfig, VisionRoleConfig
from switchboard.inference.deployments.errors import ImageNotFound, InvalidImage, ModelLoadError, PlacementError
from switchboard.inference.deployments.pixels import decode_image
from switchboard.inference.deployments.placement import check_roles_together, ray_actor_options
from switchboard.inference.deployments.weights import packaged_vision_weights, resolve_vision_weights
from switchboard.inference.settings import InferenceSettings

IMAGES = Path(__file__).parents[1] / "fixtures" / "images"
MAX_PIXELS = 40_000_000
CATS = {"tabby", "tiger cat", "Egyptian cat", "Persian cat", "Siamese cat", "lynx"}
COFFEE = {"espresso", "cup", "coffee mug", "eggnog", "saucer"}


@pytest.fixture(scope="module")
def classifier() -> Iterator[ImageClassifier]:
    threads = torch.get_num_threads()
    yield ImageClassifier(VisionRoleConfig(num_cpus=1))
    torch.set_num_threads(threads)  # the classifier sets the process's thread count; give it back


def photo(name: str) -> bytes:
    return (IMAGES / name).read_bytes()


def labels_of(classifier: ImageClassifier, data: bytes, top_k: int = 3) -> list[tuple[str, float]]:
    return classifier.classify(decode_image(data, MAX_PIXELS), top_k)


def encoded(image: Image.Image, format: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, format=format, **options)
    return out.getvalue()


def test_the_cat_is_recognised_as_a_cat(classifier: ImageClassifier) -> None:
    top = labels_of(classifier, photo("chelsea.png"))

    assert [label for label, _ in top] and {label for label, _ in top} <= CATS, top
    scores = [score for _, score in top]
    assert scores == sorted(scores, reverse=True) and 0 < sum(scores) <= 1.0001
    assert sum(scores) > 0.5  # confident that it is some cat


def test_the_coffee_is_recognised_as_espresso(classifier: ImageClassifier) -> None:
    top = labels_of(classifier, photo("coffee.png"), top_k=3)

    assert top[0][0] == "espresso" and top[0][1] > 0.5, top
    assert {label for label, _ in top} <= COFFEE | {"consomme", "chocolate sauce"}, top


def test_a_jpeg_of_the_same_photograph_is_espresso_too(classifier: ImageClassifier) -> None:
    jpeg = encoded(Image.open(io.BytesIO(photo("coffee.png"))).convert("RGB"), "JPEG", quality=90)

    assert labels_of(classifier, jpeg, top_k=1)[0][0] == "espresso"


def test_top_k_bounds_the_answer(classifier: ImageClassifier) -> None:
    assert len(labels_of(classifier, photo("chelsea.png"), top_k=1)) == 1
    assert len(labels_of(classifier, photo("chelsea.png"), top_k=10)) == 10


def test_decoding_gives_the_classifier_input() -> None:
    pixels = decode_image(photo("chelsea.png"), MAX_PIXELS)

    assert (pixels.dtype, pixels.shape) == (np.uint8, (224, 224, 3))
    assert 40 < pixels.mean() < 220  # a photograph, not a blank


def test_transparent_areas_become_white() -> None:
    clear = encoded(Image.new("RGBA", (300, 300), (0, 0, 0, 0)), "PNG")

    assert decode_image(clear, MAX_PIXELS).min() == 255


def test_exif_orientation_is_applied() -> None:
    wide = Image.new("RGB", (400, 200), (0, 0, 0))
    wide.paste((255, 255, 255), (0, 0, 400, 100))  # white top half
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to display
    pixels = decode_image(encoded(wide, "JPEG", exif=exif.tobytes()), MAX_PIXELS)

    # Displayed, the white half is on the right: the left column is dark, the right one light.
    assert pixels[:, 0].mean() < 60 and pixels[:, -1].mean() > 200


@pytest.mark.parametrize(("data", "says"), [
    (b"hello, this is a text file", "not a readable"),
    (b"", "not a readable"),
    (photo("chelsea.png")[:4000], "not a readable"),  # a truncated PNG: the header is fine, the pixels are not
    (b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "not a readable"),  # a GIF: only PNG, JPEG and WebP are decoded
])
def test_bytes_that_are_not_a_readable_image_are_invalid_image(data: bytes, says: str) -> None:
    with pytest.raises(InvalidImage, match=says) as raised:
        decode_image(data, MAX_PIXELS)
    assert (raised.value.code, raised.value.retryable) == ("inference_failed", False)


def test_an_image_over_the_pixel_limit_is_refused_before_decoding() -> None:
    with pytest.raises(InvalidImage, match="451x300 is over the 100000 pixel limit"):
        decode_image(photo("chelsea.png"), 100_000)


def test_input_of_the_wrong_shape_is_refused(classifier: ImageClassifier) -> None:
    with pytest.raises(InvalidImage, match="uint8 224x224x3"):
        classifier.classify(np.zeros((224, 224), dtype=np.uint8), 3)
    with pytest.raises(InvalidImage, match="float32"):
        classifier.classify(np.zeros((224, 224, 3), dtype=np.float32), 3)


def test_the_packaged_weights_load_strictly() -> None:
    state = torch.load(packaged_vision_weights(), map_location="cpu", weights_only=True)
    network = load_network(packaged_vision_weights())

    assert set(network.state_dict()) == set(state)
    assert not network.training


@pytest.mark.parametrize("change", ["missing", "extra", "misshapen"])
def test_weights_that_do_not_fit_the_network_fail_loudly(tmp_path: Path, change: str) -> None:
    state = torch.load(packaged_vision_weights(), map_location="cpu", weights_only=True)
    if change == "missing":
        del state["_fc.bias"]
    elif change == "extra":
        state["_blocks.16._bn0.weight"] = torch.zeros(3)
    else:
        state["_fc.weight"] = torch.zeros(10, 1280)
    path = tmp_path / "lite0.pth"
    torch.save(state, path)

    with pytest.raises(ModelLoadError, match=r"cannot load vision model from .*lite0\.pth"):
        load_network(path)


def test_a_file_that_is_not_a_state_dict_is_a_model_load_error(tmp_path: Path) -> None:
    path = tmp_path / "weights.pth"
    path.write_bytes(b"not a checkpoint")

    with pytest.raises(ModelLoadError, match="PyTorch could not load it"):
        load_network(path)


def test_a_missing_weights_file_is_named() -> None:
    with pytest.raises(ModelLoadError, match=r"cannot load vision model from /nowhere/lite0\.pth: no such file"):
        resolve_vision_weights(VisionRoleConfig(model_path=Path("/nowhere/lite0.pth")))


def test_the_labels_are_the_1000_imagenet_classes_in_order() -> None:
    labels = load_labels()

    assert len(labels) == 1000
    assert (labels[0], labels[281], labels[285], labels[967]) == ("tench", "tabby", "Egyptian cat", "espresso")


def test_the_vision_role_is_configured_from_settings() -> None:
    settings = InferenceSettings(vision_backend="efficientnet", vision_num_cpus=0.5, vision_num_gpus=1,
                                 vision_max_ongoing_requests=8, vision_num_replicas=2)
    role = settings.vision_role()

    assert role == VisionRoleConfig(num_cpus=0.5, num_gpus=1, max_ongoing_requests=8, num_replicas=2)
    assert role is not None and role.num_threads == 1
    assert ray_actor_options(role) == {"num_cpus": 0.5, "num_gpus": 1}
    assert InferenceSettings(vision_backend="none").vision_role() is None


@pytest.mark.parametrize(("chat_backend", "vision_backend"), [
    ("llama", "efficientnet"), ("echo", "none"), ("openai", "none")])
def test_vision_is_on_by_default_only_beside_the_local_chat_model(chat_backend: str, vision_backend: str) -> None:
    assert InferenceSettings(chat_backend=chat_backend).vision_backend == vision_backend


def test_vision_can_be_set_either_way_whatever_the_chat_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWITCHBOARD_CHAT_BACKEND", "echo")
    monkeypatch.setenv("SWITCHBOARD_VISION_BACKEND", "efficientnet")
    assert InferenceSettings().vision_backend == "efficientnet"
    assert InferenceSettings(chat_backend="llama", vision_backend="none").vision_backend == "none"


def test_the_vision_timeout_must_end_before_the_task_time_limit() -> None:
    with pytest.raises(ValueError, match="vision_timeout_s"):
        InferenceSettings(vision_timeout_s=60, task_time_limit_s=60)


def test_roles_that_fit_alone_but_not_together_are_refused_naming_both() -> None:
    nodes = [{"CPU": 2.0}]
    roles = {"chat": ChatRoleConfig(num_cpus=1, num_replicas=2), "vision": VisionRoleConfig(num_cpus=1)}

    with pytest.raises(PlacementError, match="chat and vision roles together ask for 3 CPU but the Ray cluster has 2"):
        check_roles_together(roles, nodes)
    check_roles_together({"chat": ChatRoleConfig(num_cpus=1), "vision": VisionRoleConfig(num_cpus=1)}, nodes)


@pytest.mark.parametrize("error", [
    InvalidImage("not a PNG, JPEG or WebP file"),
    ImageNotFound("ab" * 32),
    ModelLoadError(Path("/models/lite0.pth"), "no such file", "vision"),
])
def test_vision_errors_survive_pickling(error: Exception) -> None:
    # Ray ships replica exceptions to the caller by pickling them.
    copy = pickle.loads(pickle.dumps(error))

    assert (type(copy), str(copy), vars(copy)) == (type(error), str(error), vars(error))
