"""A `ModelHost` started for a test module and shut down after it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from switchboard.inference.deployments.host import ModelHost


@contextmanager
def started(host: ModelHost) -> Iterator[ModelHost]:
    """Start `host` on a private local cluster (no Ray token auth); the setting does not outlive the block."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("RAY_AUTH_MODE", "disabled")
        try:
            host.start()
            yield host
        finally:
            host.shutdown()
