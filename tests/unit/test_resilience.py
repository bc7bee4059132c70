"""Long-running loops come back after transient failures and stop on real bugs."""

from __future__ import annotations

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from switchboard.core.resilience import keep_running


async def test_transient_failures_restart_the_loop() -> None:
    attempts = []

    async def flaky() -> None:
        attempts.append(1)
        if len(attempts) < 3:
            raise RedisConnectionError("Redis is restarting")

    await keep_running(flaky, "test loop", max_backoff_s=0.01)
    assert len(attempts) == 3


async def test_a_bug_is_not_retried() -> None:
    async def broken() -> None:
        raise KeyError("bug")

    with pytest.raises(KeyError):
        await keep_running(broken, "test loop")
