"""The admin API against its own OpenAPI document, fuzzed by schemathesis over HTTP (the real admin process on
a real Redis): whatever the input, no 5xx, and every answer matches the schema it documents. With the
operator's token, so the generated requests get past auth into the handlers; without it, everything is 401.

The live feed (`/api/feed`) is left out: it is a stream that stays open by design (`test_admin_api` reads it).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import response_schema_conformance

from switchboard.devstack.redis_server import RedisServer
from switchboard.devstack.stack import Stack, StackConfig

TOKEN = "schema-test-operator"
HEADERS = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def admin(redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    redis.Redis.from_url(redis_server.url).flushall()
    running = Stack(StackConfig(
        run_dir=Path(tmp_path_factory.mktemp("admin-schema")), redis_url=redis_server.url, services=("admin",),
        service_env={"admin": {"SWITCHBOARD_ADMIN_TOKENS": json.dumps({TOKEN: ["operator"]}),
                               "SWITCHBOARD_REPLAY_LIVE_TIMEOUT_S": "2"}}))
    running.start(timeout=60)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def api_schema(admin: Stack) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(f"{admin.admin_url}/openapi.json").exclude(path="/api/feed")


def fuzz(schema: schemathesis.BaseSchema, examples: int, check: Callable[[schemathesis.Case], None]) -> int:
    """Run `check` on `examples` generated cases of every operation; returns how many operations ran."""
    operations = [result.ok() for result in schema.get_all_operations()]
    for operation in operations:
        @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def run(case: schemathesis.Case) -> None:
            check(case)

        run()
    return len(operations)


def test_no_input_makes_the_api_fail_or_answer_off_schema(api_schema: schemathesis.BaseSchema) -> None:
    def check(case: schemathesis.Case) -> None:
        response = case.call(headers=HEADERS)
        assert response.status_code < 500, (case.method, case.formatted_path, response.text[:500])
        if response.status_code < 400 or response.status_code == 422:
            case.validate_response(response, checks=[response_schema_conformance])

    assert fuzz(api_schema, 20, check) >= 15


def test_without_a_token_every_operation_is_401(api_schema: schemathesis.BaseSchema) -> None:
    def check(case: schemathesis.Case) -> None:
        if case.path.startswith("/api/"):
            assert case.call().status_code == 401, (case.method, case.formatted_path)

    assert fuzz(api_schema, 3, check) >= 15
