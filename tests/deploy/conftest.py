"""tests/deploy runs offline in seconds, except what is marked `slow` (the live-metrics test starts the whole
system and a real Prometheus): `-m "not slow"` leaves that out."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: starts the whole system as processes (tens of seconds)")
