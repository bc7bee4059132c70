"""The vision role's engine: EfficientNet-Lite0 on PyTorch, from 224x224 pixels to ImageNet labels.

No Ray here, so the engine can be exercised directly (the Serve deployment in ``vision`` wraps one per
replica). Inputs are what ``pixels.decode_image`` returns. The weights are the TensorFlow
EfficientNet-Lite0 checkpoint converted to PyTorch, so inputs are scaled as that release scales them:
``(value - 127) / 128`` on every channel, not the ImageNet mean and deviation of other PyTorch models
(on the test images both give the right classes; this one gives the published model's confidences).
"""

from __future__ import annotations

import pickle
import threading
from importlib import resources
from pathlib import Path

import numpy as np
import torch

from switchboard.inference.deployments.config import VISION_ROLE, VisionRoleConfig
from switchboard.inference.deployments.efficientnet import NUM_CLASSES, EfficientNetLite0
from switchboard.inference.deployments.errors import InvalidImage, ModelLoadError
from switchboard.inference.deployments.pixels import INPUT_SIZE
from switchboard.inference.deployments.weights import resolve_vision_weights

INPUT_MEAN = 127.0
INPUT_STD = 128.0
LABELS_FILE = "data/imagenet_classes.txt"


def load_labels() -> tuple[str, ...]:
    """The ImageNet class names in output order: the first lemma of each synset ("tabby", "espresso")."""
    text = (resources.files("switchboard.inference.deployments") / LABELS_FILE).read_text(encoding="utf-8")
    rows = [line.split("\t", 1)[1] for line in text.splitlines() if line and not line.startswith("#")]
    return tuple(row.split(", ", 1)[0] for row in rows)


def load_network(path: Path) -> EfficientNetLite0:
    """EfficientNet-Lite0 with the weights at ``path``, in eval mode.

    The state dict must match the network exactly (``strict=True``); raises ``ModelLoadError`` when the
    file is unreadable, not a state dict, or has missing, extra or misshapen tensors.
    """
    network = EfficientNetLite0()
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)  # weights_only: no pickled code runs
        network.load_state_dict(state, strict=True)
    except (OSError, EOFError, pickle.UnpicklingError, RuntimeError, ValueError, TypeError, AttributeError,
            KeyError) as exc:
        # RuntimeError carries load_state_dict's list of mismatched keys; keep its first line.
        raise ModelLoadError(path, f"PyTorch could not load it as EfficientNet-Lite0 weights "
                                        f"({str(exc).strip().splitlines()[0][:300]})", VISION_ROLE) from None
    return network.eval()


class ImageClassifier:
    """One loaded classifier. ``classify`` is safe to call from several threads.

    Raises ``ModelLoadError`` at construction when the weights are missing or do not fit the network.
    """

    def __init__(self, config: VisionRoleConfig) -> None:
        torch.set_num_threads(config.num_threads)
        self._device = torch.device("cuda" if config.num_gpus > 0 and torch.cuda.is_available() else "cpu")
        self._network = load_network(resolve_vision_weights(config)).to(self._device)
        self._labels = load_labels()
        if len(self._labels) != NUM_CLASSES:
            raise ModelLoadError(LABELS_FILE, f"{len(self._labels)} class names, expected {NUM_CLASSES}", VISION_ROLE)
        self.model_name = config.model_name
        # Forward passes are thread-safe, but one at a time uses the replica's threads best on CPU.
        self._lock = threading.Lock()

    def classify(self, pixels: np.ndarray, top_k: int) -> list[tuple[str, float]]:
        """The ``top_k`` most likely ImageNet classes of one image, best first, as (label, probability).

        Plain tuples, so a caller across Ray unpickles them without importing this module (and PyTorch).
        ``pixels`` is uint8 RGB of shape (224, 224, 3); raises ``InvalidImage`` for anything else.
        """
        if pixels.dtype != np.uint8 or pixels.shape != (INPUT_SIZE, INPUT_SIZE, 3):
            raise InvalidImage(f"classifier input must be uint8 {INPUT_SIZE}x{INPUT_SIZE}x3, "
                               f"got {pixels.dtype} {pixels.shape}")
        scaled = (pixels.astype(np.float32) - INPUT_MEAN) / INPUT_STD
        batch = torch.from_numpy(scaled).permute(2, 0, 1).unsqueeze(0).to(self._device)
        with self._lock, torch.inference_mode():
            probabilities = self._network(batch).softmax(dim=-1)[0]
        scores, indices = probabilities.topk(min(top_k, NUM_CLASSES))
        return [(self._labels[index], score) for score, index in zip(scores.tolist(), indices.tolist(), strict=True)]
