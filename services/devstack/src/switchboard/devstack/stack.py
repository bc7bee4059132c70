"""The whole system on one machine: Redis, the Discord emulator (when there is no Discord token), the
planner, a tools worker, the inference service, the gateway and the admin service, each its own process.
The admin service listens on `admin_url` and takes the bearer token `admin_token` (made up per stack).

Used by `python -m switchboard.devstack`, the end-to-end tests and the benchmarks, so all three run the
system the same way.
"""

from __future__ import annotations

import json
import secrets
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from switchboard.devstack.ports import free_port
from switchboard.devstack.processes import ServiceProcess
from switchboard.devstack.redis_server import RedisServer
from switchboard.emulator.client import EmulatorClient

SERVICES = ("planner", "tools", "inference", "gateway", "admin")


@dataclass(frozen=True)
class StackConfig:
    run_dir: Path
    chat_backend: Literal["llama", "echo"] = "llama"
    discord_token: str | None = None
    redis_url: str | None = None  # None starts a redis-server of our own
    env: dict[str, str] = field(default_factory=dict)  # extra environment for every service
    service_env: dict[str, dict[str, str]] = field(default_factory=dict)  # per service, by name
    services: tuple[str, ...] = SERVICES  # a subset runs part of the path (integration tests)
    emulator_args: tuple[str, ...] = ()  # e.g. ("--no-rate-limits",) for benchmarks


class Stack:
    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.redis = None if config.redis_url else RedisServer(config.run_dir / "redis")
        self.redis_url = config.redis_url or self.redis.url  # type: ignore[union-attr]
        self.emulator_url: str | None = None
        self.emulator: ServiceProcess | None = None
        self.metrics_ports: dict[str, int] = {}  # by service label
        self.services: dict[str, ServiceProcess] = {}
        self.admin_port = free_port()
        self.admin_token = secrets.token_urlsafe(24)

    @property
    def admin_url(self) -> str:
        return f"http://127.0.0.1:{self.admin_port}"

    @property
    def log_dir(self) -> Path:
        return self.config.run_dir / "logs"

    def start(self, timeout: float = 180.0) -> None:
        """Start everything and wait until it is ready; raises with the failing service's log tail."""
        deadline = time.monotonic() + timeout
        if self.redis is not None:
            self.redis.start()
        if "gateway" in self.config.services and self.config.discord_token is None:
            self._start_emulator(deadline)
        for name in self.config.services:
            self.services[name] = self.service(name)
            self.services[name].start()
        self.wait_ready(deadline)

    def service(self, name: str, label: str | None = None, env: dict[str, str] | None = None) -> ServiceProcess:
        """A (not yet started) process for service `name`, configured for this stack.

        `label` names a second instance of the service (its log file), `env` adds to its environment.
        """
        label = label or name
        port = self.metrics_ports.setdefault(label, free_port())
        env = {
            "SWITCHBOARD_REDIS_URL": self.redis_url,
            "SWITCHBOARD_METRICS_PORT": str(port),
            "SWITCHBOARD_CHAT_BACKEND": self.config.chat_backend,
            "RAY_AUTH_MODE": "disabled",
            **({"SWITCHBOARD_EMULATOR_URL": self.emulator_url} if self.emulator_url else {}),
            **({"DISCORD_TOKEN": self.config.discord_token} if self.config.discord_token else {}),
            **self.config.env, **self.config.service_env.get(name, {}), **(env or {}),
        }
        if name != "inference":
            env.pop("SWITCHBOARD_CHAT_BACKEND")
        if name == "admin":
            env.setdefault("SWITCHBOARD_ADMIN_PORT", str(self.admin_port))
            env.setdefault("SWITCHBOARD_ADMIN_TOKENS", json.dumps({self.admin_token: {"name": "devstack",
                                                                                   "roles": ["operator"]}}))
        return ServiceProcess(label, f"switchboard.{name}", env, self.log_dir)

    def _start_emulator(self, deadline: float) -> None:
        port = free_port()
        ready = self.config.run_dir / "emulator.ready"
        ready.unlink(missing_ok=True)
        self.emulator = ServiceProcess("emulator", "switchboard.emulator", {}, self.log_dir,
                                       args=("--port", str(port), "--ready-file", str(ready),
                                             *self.config.emulator_args))
        self.emulator.start()
        _wait(lambda: ready.exists(), deadline, "the Discord emulator", self.emulator)
        self.emulator_url = ready.read_text().strip()

    def wait_ready(self, deadline: float) -> None:
        for name in set(self.services) - {"gateway"}:
            _wait(lambda n=name: _answers(self.metrics_url(n)), deadline, name, self.services[name])
        if "admin" in self.services:  # its metrics come up before its HTTP server
            _wait(lambda: _answers(f"{self.admin_url}/healthz"), deadline, "admin", self.services["admin"])
        if self.emulator_url is not None:
            client = EmulatorClient(self.emulator_url)
            _wait(lambda: client.state()["identified_sessions"] > 0, deadline, "gateway", self.services["gateway"])

    def metrics_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.metrics_ports[name]}/metrics"

    def stop(self) -> None:
        """Stop in reverse order of the path: the admin service and the gateway first, Redis last."""
        for name in reversed(SERVICES):
            if name in self.services:
                self.services[name].stop()
        if self.emulator is not None:
            self.emulator.stop()
        if self.redis is not None:
            self.redis.stop()


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def _wait(ready, deadline: float, what: str, process: ServiceProcess) -> None:
    while not ready():
        if not process.running():
            raise RuntimeError(f"{what} exited during start-up:\n{process.tail()}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not ready in time:\n{process.tail()}")
        time.sleep(0.1)
