"""``ModelHost``: the one class in the project that makes Ray calls.

It starts (or joins) a Ray cluster, refuses placements that can never be
satisfied, starts Serve without its HTTP proxy, deploys the chat
application, waits (bounded) until it is healthy, and streams chat chunks
from it through a Serve deployment handle. Everything above it (settings,
the Celery bridge) can be tested with a fake that has the same three methods.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator
from typing import Any

import ray
from ray import serve
from ray.serve.config import ProxyLocation
from ray.serve.schema import ApplicationStatus, ApplicationStatusOverview

from switchboard.inference.deployments.chat import build_chat_app
from switchboard.inference.deployments.config import ChatRoleConfig, RayConfig
from switchboard.inference.deployments.errors import DeployError
from switchboard.inference.deployments.placement import check_placement, replica_resources
from switchboard.inference.deployments.protocol import parse_chat_request
from switchboard.inference.deployments.weights import resolve_model_path

logger = logging.getLogger(__name__)

CHAT_ROLE = "chat"
_FAILED_STATUSES = (ApplicationStatus.DEPLOY_FAILED, ApplicationStatus.UNHEALTHY)


class ModelHost:
    """Owns the chat model's Serve application for one service process.

    ``start``/``shutdown`` are serialized by a lock; ``stream_chat`` may be
    called concurrently from many threads once ``start`` has returned.
    ``app_name`` names the Serve application (several hosts may share one
    cluster with distinct names); ``start_timeout_s`` bounds ``start``'s wait
    for the application to become healthy.
    """

    def __init__(
        self,
        ray_config: RayConfig,
        chat: ChatRoleConfig,
        *,
        app_name: str = CHAT_ROLE,
        start_timeout_s: float = 120.0,
        poll_interval_s: float = 0.2,
    ) -> None:
        self._ray_config = ray_config
        self._chat = chat
        self._app_name = app_name
        self._start_timeout_s = start_timeout_s
        self._poll_interval_s = poll_interval_s
        self._lock = threading.Lock()
        self._stream_handle: Any = None
        # What start() did, so shutdown() undoes exactly that and no more.
        self._connected_ray = False
        self._started_cluster = False
        self._deployed = False

    def __enter__(self) -> ModelHost:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()

    def start(self) -> None:
        """Connect to Ray, check placement, start Serve, deploy chat, wait until healthy.

        Idempotent once it succeeded. Raises ``PlacementError`` (before any
        deployment) when the chat role asks for resources the cluster lacks,
        ``ModelLoadError`` when the model file is missing on a local cluster,
        and ``DeployError`` when the application fails or is not healthy within
        ``start_timeout_s``. On failure it undoes what it did, like ``shutdown``.
        """
        with self._lock:
            if self._stream_handle is not None:
                return
            try:
                self._start_locked()
            except BaseException:
                self._teardown_locked(after_failure=True)
                raise

    def stream_chat(self, request: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """Yield the chunks of one chat completion (see ``protocol``).

        Thread-safe. Raises ``InvalidChatRequestError`` before calling Ray for a
        malformed request, ``RuntimeError`` if the host is not started, and
        the replica's exception (wrapped by Ray, still an instance of the
        original type) if generation fails. Closing the iterator early
        cancels the Serve request.
        """
        handle = self._stream_handle
        if handle is None:
            raise RuntimeError("ModelHost is not started: call start() before stream_chat()")
        parse_chat_request(request)
        response = handle.stream.remote(request)
        finished = False
        try:
            yield from response
            finished = True
        finally:
            if not finished:
                response.cancel()

    def shutdown(self) -> None:
        """Undo ``start``: delete the app (or all of Serve and Ray if we started the cluster).

        Idempotent and safe to call after a failed ``start``. Shuts down
        Serve and the cluster only if this host started the cluster; on a
        joined cluster it deletes only its own application and disconnects.
        """
        with self._lock:
            self._teardown_locked()

    # -- start steps -------------------------------------------------------

    def _start_locked(self) -> None:
        began = time.monotonic()
        self._connect_ray()
        logger.info("Ray ready in %.1fs (%s)", time.monotonic() - began, ray.cluster_resources())
        self._check_placement()
        self._check_model_file()
        began = time.monotonic()
        serve.start(proxy_location=ProxyLocation.Disabled)
        logger.info("Serve ready in %.1fs (HTTP proxy disabled)", time.monotonic() - began)
        began = time.monotonic()
        handle = self._deploy()
        logger.info("Serve app %r healthy in %.1fs", self._app_name, time.monotonic() - began)
        self._stream_handle = handle.options(stream=True)

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
        wanted = replica_resources(self._chat)
        nodes = [node["Resources"] for node in ray.nodes() if node.get("Alive")]
        check_placement(CHAT_ROLE, wanted, self._chat.num_replicas, nodes)
        free = self._free_resources()
        if any(free[name] < amount for name, amount in wanted.items()):
            # Not an error: busy resources free up. start() stays bounded anyway.
            logger.warning("chat replicas may wait: cluster has %s free, a replica needs %s", free, wanted)

    def _free_resources(self) -> dict[str, float]:
        """Currently unclaimed amounts of the resources a chat replica asks for."""
        free = ray.available_resources()
        return {name: free.get(name, 0.0) for name in replica_resources(self._chat)}

    def _check_model_file(self) -> None:
        # Only a cluster on this machine (address=None) shares our filesystem;
        # on a joined cluster the replica checks the path on its own node.
        if self._chat.backend == "llama" and self._ray_config.address is None:
            resolve_model_path(self._chat)

    def _deploy(self) -> Any:
        target = serve.RunTarget(target=build_chat_app(self._chat), name=self._app_name, route_prefix=None)
        self._deployed = True  # before the call: a half-done deploy still needs deleting
        # serve.run would wait for RUNNING with no bound; we wait ourselves.
        (handle,) = serve.run_many([target], wait_for_applications_running=False)
        self._wait_until_running(time.monotonic() + self._start_timeout_s)
        return handle

    def _wait_until_running(self, deadline: float) -> None:
        while True:
            app = serve.status().applications.get(self._app_name)
            if app is not None and app.status == ApplicationStatus.RUNNING:
                return
            if app is not None and app.status in _FAILED_STATUSES:
                details = "\n".join(d.message for d in app.deployments.values())
                logger.error("Serve app %r failed: %s\n%s", self._app_name, app.message, details)
                raise DeployError(self._app_name, _describe(app))
            if time.monotonic() >= deadline:
                raise DeployError(
                    self._app_name,
                    f"not running after {self._start_timeout_s:.0f}s; {_describe(app)}; "
                    f"free cluster resources: {self._free_resources()}",
                )
            time.sleep(self._poll_interval_s)  # polling a condition, bounded by deadline

    # -- teardown ----------------------------------------------------------

    def _teardown_locked(self, after_failure: bool = False) -> None:
        # After a failed start nothing is in flight, and waiting would add
        # Serve's 20 s graceful-shutdown timeout for a replica still pending
        # allocation: so skip serve.shutdown (ray.shutdown of a cluster we
        # started ends Serve too) and let the app's deletion finish on its own.
        self._stream_handle = None
        if self._started_cluster and not after_failure:
            _quietly("serve.shutdown", serve.shutdown)
        elif self._deployed and not self._started_cluster:
            _quietly(f"serve.delete({self._app_name!r})", serve.delete, self._app_name, _blocking=not after_failure)
        if self._connected_ray:
            _quietly("ray.shutdown", ray.shutdown)
        self._deployed = self._started_cluster = self._connected_ray = False


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
