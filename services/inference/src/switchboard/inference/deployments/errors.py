"""Exceptions raised by the model layer and the vision role's image checks.

They belong to the project's error tree (so the bridge reports them with their
``code``); their constructor arguments are kept in ``args`` so they survive
pickling (Ray ships replica errors back to the caller by pickling them).
Messages are built in ``__str__`` from those arguments.
"""

from __future__ import annotations

from pathlib import Path

from switchboard.core import errors

# What an operator can do when a resource is short, keyed by Ray resource name.
_PLACEMENT_HINTS: dict[str, str] = {
    "GPU": (
        "run the inference service on a node with a GPU (or join a Ray cluster "
        "that has one), or set the {role} role's num_gpus to 0 to run on CPU"
    ),
    "CPU": (
        "lower the {role} role's num_cpus or num_replicas, or give the cluster "
        "more CPUs (RayConfig.num_cpus for a local cluster)"
    ),
    "memory": "lower the {role} role's memory_bytes or num_replicas, or add memory to the cluster",
}


def format_resource(resource: str, amount: float) -> str:
    """``1.0, "GPU"`` -> ``"1 GPU"``; memory in MiB/GiB."""
    if resource == "memory":
        if amount >= 2**30:
            return f"{amount / 2**30:.1f} GiB memory"
        return f"{amount / 2**20:.0f} MiB memory"
    number = int(amount) if float(amount).is_integer() else round(amount, 3)
    return f"{number} {resource}"


class PlacementError(errors.PlacementError):
    """A role asks for more of a resource than the Ray cluster can ever give.

    Raised by ``ModelHost.start`` before anything is deployed, because Ray
    would otherwise leave the replica pending forever without an error.
    ``where`` names what was measured ("the Ray cluster", "the largest Ray node").
    """

    def __init__(
        self,
        role: str,
        resource: str,
        requested: float,
        available: float,
        where: str = "the Ray cluster",
    ) -> None:
        Exception.__init__(self, role, resource, requested, available, where)
        self.role = role
        self.resource = resource
        self.requested = requested
        self.available = available
        self.where = where
        self.message = str(self)

    def __str__(self) -> str:
        hint = _PLACEMENT_HINTS.get(self.resource, "add that resource to the cluster or ask for less")
        # "chat and vision" when several roles only fail together (placement.check_roles_together).
        roles = f"{self.role} roles together ask" if " and " in self.role else f"{self.role} role asks"
        return (
            f"{roles} for {format_resource(self.resource, self.requested)} "
            f"but {self.where} has {format_resource(self.resource, self.available)}: "
            f"{hint.format(role=self.role)}"
        )


class ModelLoadError(errors.InferenceError):
    """The model file is missing or the runtime (llama.cpp, PyTorch) could not load it."""

    def __init__(self, path: Path | str, reason: str, role: str = "chat") -> None:
        Exception.__init__(self, path, reason, role)
        self.path = Path(path)
        self.reason = reason
        self.role = role
        self.message = str(self)

    def __str__(self) -> str:
        return f"cannot load {self.role} model from {self.path}: {self.reason}"


class ReplicaLost(errors.ModelUnavailable):
    """The replica serving a request died (killed, out of memory, its node lost) before answering.

    Retryable: model calls are pure, so the caller may run the request again on a replica Serve starts
    in its place.
    """

    def __init__(self, role: str, cause: str) -> None:
        Exception.__init__(self, role, cause)
        self.role = role
        self.cause = cause
        self.message = str(self)

    def __str__(self) -> str:
        return f"the {self.role} replica serving the request was lost ({self.cause})"


class DeployError(errors.InferenceError):
    """A Serve application did not become healthy (failed, or timed out)."""

    def __init__(self, app_name: str, reason: str) -> None:
        Exception.__init__(self, app_name, reason)
        self.app_name = app_name
        self.reason = reason
        self.message = str(self)

    def __str__(self) -> str:
        return f"Serve application {self.app_name!r} did not become healthy: {self.reason}"


class InvalidChatRequestError(ValueError):
    """A chat request dict does not match the documented shape."""


class InvalidImage(errors.InferenceError):
    """Bytes given to the vision role are not an image it can read (wrong type, corrupt, over a limit)."""

    def __init__(self, reason: str) -> None:
        Exception.__init__(self, reason)
        self.reason = reason
        self.message = str(self)

    def __str__(self) -> str:
        return f"cannot recognise the image: {self.reason}"


class ImageNotFound(errors.InferenceError):
    """The image blob a vision request points at is not stored (it expired, or was never uploaded)."""

    def __init__(self, sha256: str) -> None:
        Exception.__init__(self, sha256)
        self.sha256 = sha256
        self.message = str(self)

    def __str__(self) -> str:
        return f"the image (blob {self.sha256[:12]}) is no longer stored: it expired or was never uploaded"
