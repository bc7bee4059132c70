"""Service processes (`python -m switchboard.<service>`) with their output in log files."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path


class ServiceProcess:
    def __init__(self, name: str, module: str, env: dict[str, str], log_dir: Path, args: tuple[str, ...] = ()) -> None:
        self.name = name
        self.module = module
        self.env = env
        self.args = args
        self.log_path = log_dir / f"{name}.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self._process = subprocess.Popen(
            [sys.executable, "-m", self.module, *self.args], env={**os.environ, **self.env},
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)  # Ctrl-C in the terminal reaches the launcher, which stops us in order
        log.close()

    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def kill(self) -> None:
        """SIGKILL: the process gets no chance to clean up (fault tests)."""
        if self.running():
            assert self._process is not None
            os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait()

    def stop(self, grace_s: float = 15.0) -> None:
        """SIGTERM, then SIGKILL after `grace_s` (the whole process group: Ray and Celery have children)."""
        if not self.running():
            return
        assert self._process is not None
        os.killpg(self._process.pid, signal.SIGTERM)
        try:
            self._process.wait(grace_s)
        except subprocess.TimeoutExpired:
            self.kill()

    def returncode_was_own(self) -> bool:
        """Whether the process ended by itself (any exit status), not by a signal such as `kill`'s SIGKILL."""
        return self._process is not None and self._process.returncode is not None and self._process.returncode >= 0

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""
