"""``ModelHost``: the one class in the project that makes Ray calls.

It starts (or joins) a Ray cluster, refuses placements that can never be
satisfied, starts Serve without its HTTP proxy, deploys one application per
configured role (chat, vision, embed, image), waits (bounded) until they are
healthy, then streams chat chunks, classifies images, embeds texts and draws
pictures through Serve deployment handles. Everything above it (settings, the
Celery bridge) can be tested with a fake that has the same methods.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import ray
from ray import serve
from ray.exceptions import ActorUnavailableError, RayActorError, RayTaskError
from ray.serve import Application
from ray.serve.config import ProxyLocation
from ray.serve.schema import ApplicationStatus, ApplicationStatusOverview, ReplicaState

from switchboard.core.errors import ModelUnavailable, SwitchboardError
from switchboard.inference.deployments.chat import build_chat_app
from switchboard.inference.deployments.config import (
    CHAT_ROLE,
    EMBED_ROLE,
    IMAGE_ROLE,
    VISION_ROLE,
    ChatRoleConfig,
    EmbedRoleConfig,
    ImageRoleConfig,
    RayConfig,
    RoleConfig,
    VisionRoleConfig,
)
from switchboard.inference.deployments.diffusion import build_image_app
from switchboard.inference.deployments.embed import build_embed_app
from switchboard.inference.deployments.errors import DeployError, ReplicaLost
from switchboard.inference.deployments.placement import check_placement, check_roles_together, replica_resources
from switchboard.inference.deployments.protocol import parse_chat_request
from switchboard.inference.deployments.vision import build_vision_app
from switchboard.inference.deployments.weights import (
    resolve_embed_model,
    resolve_image_model,
    resolve_model_path,
    resolve_vision_weights,
)

logger = logging.getLogger(__name__)

_FAILED_STATUSES = (ApplicationStatus.DEPLOY_FAILED, ApplicationStatus.UNHEALTHY)
# What Ray raises to a caller whose replica died (killed, out of memory, node lost) while it waited.
_REPLICA_LOST = (RayActorError, ActorUnavailableError)


class ModelHost:
    """Owns the Serve applications of the model roles (chat, vision, embed, image) for one service process.

    Any role may be None (a hosted chat API with a local vision model has no
    chat role here), not all of them. ``start``/``shutdown`` are serialized by
    a lock; ``stream_chat``, ``classify``, ``embed`` and ``generate_images`` may
    be called concurrently from many threads once ``start`` has returned. Each role's
    Serve application is named ``app_prefix + role`` (several hosts may share
    one cluster with distinct prefixes); ``start_timeout_s`` bounds
    ``start``'s wait for the applications to become healthy.
    """

    def __init__(
        self,
        ray_config: RayConfig,
        chat: ChatRoleConfig | None = None,
        vision: VisionRoleConfig | None = None,
        embed: EmbedRoleConfig | None = None,
        image: ImageRoleConfig | None = None,
        *,
        app_prefix: str = "",
        start_timeout_s: float = 120.0,
        poll_interval_s: float = 0.2,
    ) -> None:
        configs: dict[str, RoleConfig | None] = {CHAT_ROLE: chat, VISION_ROLE: vision, EMBED_ROLE: embed,
                                                 IMAGE_ROLE: image}
        self._configs: dict[str, RoleConfig] = {role: config for role, config in configs.items() if config}
        if not self._configs:
            raise ValueError("ModelHost needs at least one of the chat, vision, embed and image roles")
        self._ray_config = ray_config
        self._app_names = {role: app_prefix + role for role in self._configs}
        self._start_timeout_s = start_timeout_s
        self._poll_interval_s = poll_interval_s
        self._lock = threading.Lock()
        self._started = False
        self._handles: dict[str, Any] = {}
        # What start() did, so shutdown() undoes exactly that and no more.
        self._connected_ray = False
        self._started_cluster = False
        self._deployed = False

    @property
    def roles(self) -> dict[str, RoleConfig]:
        """The configured roles and their configs."""
        return dict(self._configs)

    def __enter__(self) -> ModelHost:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()

    def start(self) -> None:
        """Connect to Ray, check placement, start Serve, deploy the roles, wait until healthy.

        Idempotent once it succeeded. Raises ``PlacementError`` (before any
        deployment) when a role, or the roles together, ask for resources the
        cluster lacks, ``ModelLoadError`` when a model file is missing on a
        local cluster, and ``DeployError`` when an application fails or is not
        healthy within ``start_timeout_s``. On failure it undoes what it did,
        like ``shutdown``.
        """
        with self._lock:
            if self._started:
                return
            try:
                self._start_locked()
            except BaseException:
                self._teardown_locked(after_failure=True)
                raise

    def stream_chat(self, request: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """Yield the chunks of one chat completion (see ``protocol``).

        Thread-safe. Raises ``InvalidChatRequestError`` before calling Ray for a
        malformed request, ``RuntimeError`` if the host is not started or has
        no chat role, ``ReplicaLost`` (retryable: generation is pure) when the
        replica died mid-answer, and the replica's exception (wrapped by Ray,
        still an instance of the original type) if generation fails. Closing
        the iterator early cancels the Serve request.
        """
        handle = self._handle(CHAT_ROLE).options(stream=True)
        parse_chat_request(request)
        response = handle.stream.remote(request)
        finished = False
        try:
            yield from response
            finished = True
        except _REPLICA_LOST as exc:
            raise ReplicaLost(CHAT_ROLE, type(exc).__name__) from None
        finally:
            if not finished:
                response.cancel()

    def classify(self, pixels: np.ndarray, top_k: int, *, traceparent: str | None = None,
                 timeout_s: float | None = None) -> list[tuple[str, float]]:
        """``(label, probability)`` pairs, best first, for pixels from ``pixels.decode_image``.

        Thread-safe. Raises ``RuntimeError`` if the host is not started or has
        no vision role, ``ModelUnavailable`` (retryable) when no answer came
        within ``timeout_s`` (the request is cancelled), and the replica's own
        Switchboard error (``InvalidImage``) unwrapped from Ray's.
        """
        response = self._handle(VISION_ROLE).classify.remote(pixels, top_k, traceparent)
        return _result(response, VISION_ROLE, timeout_s)

    def embed(self, texts: list[str], *, traceparent: str | None = None,
              timeout_s: float | None = None) -> tuple[np.ndarray, int]:
        """``(vectors, max_tokens)`` for ``texts``: a float32 row of unit length per text, and the token
        count past which a text's end was not read.

        Thread-safe. Raises ``RuntimeError`` if the host is not started or has no embed role, and
        ``ModelUnavailable`` (retryable) when no answer came within ``timeout_s`` or the replica died.
        """
        response = self._handle(EMBED_ROLE).embed.remote(list(texts), traceparent)
        return _result(response, EMBED_ROLE, timeout_s)

    def generate_images(self, prompt: str, width: int, height: int, count: int, seed: int | None, *,
                        traceparent: str | None = None, timeout_s: float | None = None) -> list[bytes]:
        """``count`` PNG files of ``width`` x ``height`` pixels drawn for ``prompt``; the same ``seed`` gives the
        same files (None: a random one).

        Thread-safe. Raises ``RuntimeError`` if the host is not started or has no image role,
        ``ModelUnavailable`` (retryable) when no answer came within ``timeout_s`` (the request is cancelled)
        or the replica died, and the replica's ``InferenceError`` (a size it cannot draw, out of GPU memory).
        """
        response = self._handle(IMAGE_ROLE).generate.remote(prompt, width, height, count, seed, traceparent)
        return _result(response, IMAGE_ROLE, timeout_s)

    def replicas(self) -> dict[str, int]:
        """Running replicas per started role, as Serve reports them now (0 for a role being replaced)."""
        if not self._started:
            return {}
        apps = serve.status().applications
        counts: dict[str, int] = {}
        for role, app_name in self._app_names.items():
            app = apps.get(app_name)
            deployments = app.deployments.values() if app is not None else ()
            counts[role] = sum(d.replica_states.get(ReplicaState.RUNNING, 0) for d in deployments)
        return counts

    def shutdown(self) -> None:
        """Undo ``start``: delete the apps (or all of Serve and Ray if we started the cluster).

        Idempotent and safe to call after a failed ``start``. Shuts down
        Serve and the cluster only if this host started the cluster; on a
        joined cluster it deletes only its own applications and disconnects.
        """
        with self._lock:
            self._teardown_locked()

    # -- start steps -------------------------------------------------------

    def _handle(self, role: str) -> Any:
        handle = self._handles.get(role)
        if handle is None:
            raise RuntimeError(f"ModelHost has no started {role} role: call start() first")
        return handle

    def _start_locked(self) -> None:
        began = time.monotonic()
        self._connect_ray()
        logger.info("Ray ready in %.1fs (%s)", time.monotonic() - began, ray.cluster_resources())
        self._check_placement()
        self._check_model_files()
        began = time.monotonic()
        serve.start(proxy_location=ProxyLocation.Disabled)
        logger.info("Serve ready in %.1fs (HTTP proxy disabled)", time.monotonic() - began)
        began = time.monotonic()
        self._handles = self._deploy()
        logger.info("Serve apps %s healthy in %.1fs", sorted(self._handles), time.monotonic() - began)
        self._started = True

    def _connect_ray(self) -> None:
        if ray.is_initialized():
            # Another component (or a test) already connected this process.
            logger.info("reusing this process's existing Ray connection")
            return
        config = self._ray_config
        if config.address is None:
            # Ray 2.60 turns token auth on by default; a private local cluster
            # needs none. setdefault: an operator's explicit choice wins.
            os.environ.setdefault("RAY_AUTH_MODE", "disabled")
            ray.init(
                num_cpus=config.num_cpus,
                object_store_memory=config.object_store_memory,
                include_dashboard=False,
                namespace=config.namespace,
            )
            self._started_cluster = True
        else:
            ray.init(address=config.address, namespace=config.namespace)
        self._connected_ray = True

    def _check_placement(self) -> None:
        nodes = [node["Resources"] for node in ray.nodes() if node.get("Alive")]
        for role, config in self._configs.items():
            check_placement(role, replica_resources(config), config.replicas_at_start, nodes)
        check_roles_together(self._configs, nodes)
        for role, config in self._configs.items():
            wanted, free = replica_resources(config), self._free_resources(config)
            if any(free[name] < amount for name, amount in wanted.items()):
                # Not an error: busy resources free up. start() stays bounded anyway.
                logger.warning("%s replicas may wait: cluster has %s free, a replica needs %s", role, free, wanted)

    def _free_resources(self, *configs: RoleConfig) -> dict[str, float]:
        """Currently unclaimed amounts of the resources replicas of these roles ask for."""
        free = ray.available_resources()
        return {name: free.get(name, 0.0) for config in configs for name in replica_resources(config)}

    def _check_model_files(self) -> None:
        # Only a cluster on this machine (address=None) shares our filesystem;
        # on a joined cluster the replica checks the path on its own node.
        if self._ray_config.address is not None:
            return
        for config in self._configs.values():
            if isinstance(config, ChatRoleConfig) and config.backend == "llama":
                resolve_model_path(config)
            elif isinstance(config, VisionRoleConfig):
                resolve_vision_weights(config)
            elif isinstance(config, EmbedRoleConfig):
                resolve_embed_model(config)
            elif isinstance(config, ImageRoleConfig):
                resolve_image_model(config)

    def _deploy(self) -> dict[str, Any]:
        """Deploy every role's application at once (replicas load in parallel); role -> handle."""
        roles = list(self._configs)
        targets = [serve.RunTarget(target=_build_app(self._configs[role]), name=self._app_names[role],
                                   route_prefix=None) for role in roles]
        self._deployed = True  # before the call: a half-done deploy still needs deleting
        # serve.run would wait for RUNNING with no bound; we wait ourselves.
        handles = serve.run_many(targets, wait_for_applications_running=False)
        self._wait_until_running([self._app_names[role] for role in roles], time.monotonic() + self._start_timeout_s)
        return dict(zip(roles, handles, strict=True))

    def _wait_until_running(self, app_names: list[str], deadline: float) -> None:
        while True:
            apps = serve.status().applications
            for name in app_names:
                app = apps.get(name)
                if app is not None and app.status in _FAILED_STATUSES:
                    details = "\n".join(d.message for d in app.deployments.values())
                    logger.error("Serve app %r failed: %s\n%s", name, app.message, details)
                    raise DeployError(name, _describe(app))
            waiting = [name for name in app_names
                       if apps.get(name) is None or apps[name].status != ApplicationStatus.RUNNING]
            if not waiting:
                return
            if time.monotonic() >= deadline:
                free = self._free_resources(*self._configs.values())
                raise DeployError(
                    waiting[0],
                    f"not running after {self._start_timeout_s:.0f}s; {_describe(apps.get(waiting[0]))}; "
                    f"free cluster resources: {free}",
                )
            time.sleep(self._poll_interval_s)  # polling a condition, bounded by deadline

    # -- teardown ----------------------------------------------------------

    def _teardown_locked(self, after_failure: bool = False) -> None:
        # A cluster we started goes with ray.shutdown, Serve and replicas included. serve.shutdown first
        # would wait out each replica's graceful-shutdown timeout (20 s), which buys nothing: by now the
        # Celery worker has finished every request in flight (warm shutdown), so the replicas are idle.
        # On a joined cluster only our apps go; after a failed start, without waiting for a replica still
        # pending allocation.
        self._handles = {}
        self._started = False
        if self._deployed and not self._started_cluster:
            for app_name in self._app_names.values():
                _quietly(f"serve.delete({app_name!r})", serve.delete, app_name, _blocking=not after_failure)
        if self._connected_ray:
            _quietly("ray.shutdown", ray.shutdown)
        self._deployed = self._started_cluster = self._connected_ray = False


def _build_app(config: RoleConfig) -> Application:
    if isinstance(config, ChatRoleConfig):
        return build_chat_app(config)
    if isinstance(config, VisionRoleConfig):
        return build_vision_app(config)
    return build_embed_app(config) if isinstance(config, EmbedRoleConfig) else build_image_app(config)


def _result(response: Any, role: str, timeout_s: float | None) -> Any:
    """A unary Serve call's result, with Ray's failures turned into the project's typed errors."""
    try:
        return response.result(timeout_s=timeout_s)
    except TimeoutError:
        response.cancel()
        raise ModelUnavailable(f"the {role} model did not answer within {timeout_s:g} s") from None
    except RayTaskError as exc:
        if isinstance(exc.cause, SwitchboardError):
            raise exc.cause from None  # its own message, not Ray's traceback text
        raise
    except _REPLICA_LOST as exc:
        raise ReplicaLost(role, type(exc).__name__) from None


def _describe(app: ApplicationStatusOverview | None) -> str:
    """One line on an application's state, with each deployment's message."""
    if app is None:
        return "application not created yet"
    parts = [f"status {app.status.value}"] + ([app.message] if app.message else [])
    for name, deployment in app.deployments.items():
        replicas = {str(getattr(state, "value", state)): n for state, n in deployment.replica_states.items()}
        parts.append(f"{name}: {deployment.status.value} replicas={replicas} {_brief(deployment.message)}".strip())
    return "; ".join(parts)


def _brief(message: str) -> str:
    """Shorten a Serve message that embeds a replica traceback to its first and last lines.

    The last line of the traceback is the replica's exception (e.g. the
    ``ModelLoadError`` naming the missing path), which is what a reader needs.
    """
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    if len(lines) <= 2:
        return " ".join(lines)
    return f"{lines[0]} ... {lines[-1]}"


def _quietly(what: str, func: Any, *args: Any, **kwargs: Any) -> None:
    """Run a teardown step; log and continue if it fails, so later steps still run."""
    try:
        func(*args, **kwargs)
    except Exception:  # broad on purpose: one failed step must not skip the rest
        logger.warning("%s failed during ModelHost shutdown", what, exc_info=True)
