"""The Celery settings the reliability promise rests on, read from the app every service builds.

The hard time limit and the broker's visibility timeout come from one setting, so they cannot drift: a task
is never handed to a second worker while the first may still run it.
"""

from __future__ import annotations

import pytest

from switchboard.core.celery_app import make_celery
from switchboard.core.settings import ServiceSettings


@pytest.mark.parametrize(("limit", "margin"), [(5, 5), (120, 30), (600, 60)])
def test_the_time_limit_stays_below_the_visibility_timeout(limit: int, margin: int) -> None:
    settings = ServiceSettings(task_time_limit_s=limit, visibility_margin_s=margin)
    conf = make_celery(settings, "test").conf

    visibility = conf.broker_transport_options["visibility_timeout"]
    assert conf.task_time_limit == limit < visibility == limit + margin
    assert conf.task_soft_time_limit < conf.task_time_limit


def test_json_only_late_acks_one_task_at_a_time() -> None:
    conf = make_celery(ServiceSettings(), "test").conf

    assert (conf.task_serializer, conf.result_serializer, list(conf.accept_content)) == ("json", "json", ["json"])
    assert conf.task_acks_late and conf.task_reject_on_worker_lost and conf.worker_prefetch_multiplier == 1
    assert conf.broker_transport_options["unacked_restore_interval"] <= 1


def test_a_margin_below_five_seconds_is_refused() -> None:
    with pytest.raises(ValueError, match="visibility_margin_s"):
        ServiceSettings(visibility_margin_s=1)
