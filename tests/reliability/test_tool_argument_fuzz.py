"""Tool calls fuzzed: an unknown tool, extra keys, wrong types or huge strings end in a typed `ToolError`
(recorded as the step's typed error by a real worker) and nothing runs; in the planner, a disallowed or
invalid call is refused before any task exists (the Celery queues in a real Redis stay empty).

Three levels, each on the code that runs in production: the tools registry (what a worker calls), a real
Celery tools worker fed step requests, and the planner's `StepContext` with a real dispatcher and no worker
(whatever it sent would still sit in the queue).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import redis
import redis.asyncio as aioredis
from celery import Celery
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from switchboard.core import keys
from switchboard.core.celery_app import make_celery
from switchboard.core.errors import InvalidToolArguments, ToolError, ToolNotAllowed, UnknownTool
from switchboard.core.journal import Journal, SyncJournal
from switchboard.core.keys import Queue
from switchboard.core.metrics import Metrics
from switchboard.core.plugins import Persona
from switchboard.core.role_tools import ROLE_TOOLS
from switchboard.core.settings import ServiceSettings
from switchboard.core.tool_catalog import ToolCatalog
from switchboard.core.wire import Activation, ToolCall, ToolCallContext, Trigger
from switchboard.devstack.redis_server import RedisServer
from switchboard.planner.context import ContextServices, StepContext, Supersession
from switchboard.planner.dispatch import StepDispatcher
from switchboard.planner.waiter import StepWaiter
from switchboard.tools.builtin import builtin_tools
from switchboard.tools.builtin.web_fetch import WebFetch, web_fetch_tool
from switchboard.tools.registry import Tool, ToolRegistry
from tests.conftest import wait_until
from tests.support.tool_worker import counted, send_tool_step, tools_worker

FUZZ = settings(max_examples=200, deadline=None, database=None, suppress_health_check=list(HealthCheck))
THROUGH_REDIS = settings(max_examples=40, deadline=None, database=None, suppress_health_check=list(HealthCheck))
CONTEXT = ToolCallContext(activation_id="1", guild_id="g1", channel_id="c1", user_id="u1")
WORKER_CONTEXT = ToolCallContext(activation_id="2", guild_id="g2", channel_id="c-worker", user_id="u-worker")

scalars = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
           | st.text(max_size=30))
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=10), inner, max_size=3), max_leaves=8)
huge_strings = st.integers(min_value=10_000, max_value=1_000_000).map(lambda n: "9" * n)


def builtin(client: redis.Redis) -> tuple[Tool, ...]:
    """Every built-in tool; `web_fetch` resolves every name to loopback, so nothing here leaves the machine."""
    offline = web_fetch_tool(WebFetch(resolver=lambda host, port: ["127.0.0.1"], timeout_s=1))
    return tuple(offline if tool.name == "web_fetch" else tool for tool in builtin_tools(client))


@pytest.fixture(scope="module")
def client(redis_server: RedisServer) -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(redis_server.url, decode_responses=True)
    connection.flushall()
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def tools(client: redis.Redis) -> tuple[Tool, ...]:
    return builtin(client)


def names_of(tools: tuple[Tool, ...]) -> list[str]:
    return sorted(tool.name for tool in tools)


def wrong_type(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """JSON values that are not of the property's declared type(s)."""
    declared = schema.get("type", [])
    declared = {declared} if isinstance(declared, str) else set(declared)
    # 3.0 is an integer to JSON Schema: a number that is wrong for an integer has a fraction.
    fractions = st.floats(allow_nan=False, allow_infinity=False).filter(lambda number: not number.is_integer())
    by_type = {"string": st.text(max_size=5), "integer": st.integers(),
               "number": fractions if "integer" in declared else st.floats(allow_nan=False),
               "boolean": st.booleans(), "null": st.none(), "array": st.lists(scalars, max_size=2),
               "object": st.dictionaries(st.text(max_size=5), scalars, max_size=2)}
    return st.one_of([strategy for name, strategy in by_type.items()
                      if name not in declared and not (name == "integer" and "number" in declared)])


@st.composite
def invalid_arguments(draw: st.DrawFn, tool_parameters: dict[str, Any]) -> dict[str, Any]:
    """Arguments a tool's JSON Schema refuses: an unknown key, a wrongly typed or oversized value."""
    properties: dict[str, Any] = tool_parameters.get("properties", {})
    arguments = {name: "x" for name in tool_parameters.get("required", ())}
    choices = ["extra"]
    typed = [name for name, schema in properties.items() if "type" in schema]
    strings = [name for name, schema in properties.items() if schema.get("maxLength")]
    choices += ["type"] * bool(typed) + ["huge"] * bool(strings)
    flaw = draw(st.sampled_from(choices))
    if flaw == "extra":
        extra = draw(st.text(min_size=1, max_size=20).filter(lambda key: key not in properties))
        arguments[extra] = draw(json_values | huge_strings)
    elif flaw == "type":
        name = draw(st.sampled_from(typed))
        arguments[name] = draw(wrong_type(properties[name]))
    else:
        name = draw(st.sampled_from(strings))
        arguments[name] = "9" * (properties[name]["maxLength"] + draw(st.integers(min_value=1, max_value=200_000)))
    return arguments


@st.composite
def bad_calls(draw: st.DrawFn, tools: tuple[Tool, ...], names: frozenset[str] = frozenset()) -> ToolCall:
    """A call of a tool that is not there (`names`: what the caller knows), or one with invalid arguments."""
    known = {tool.name: tool for tool in tools}
    names = names or frozenset(known)
    if draw(st.booleans()):
        near_misses = [f"{n.upper()}" for n in names] + [f"{n} " for n in names] + [n.replace("_", "-") for n in names]
        unknown = st.sampled_from(["", "shell", "exec", "__init__", "../clock", "run_tool", *near_misses])
        name = draw((unknown | st.text(max_size=40)).filter(lambda candidate: candidate not in names))
        return ToolCall(name=name, arguments=draw(st.dictionaries(st.text(max_size=10), json_values, max_size=3)))
    name = draw(st.sampled_from(sorted(names & known.keys())))
    return ToolCall(name=name, arguments=draw(invalid_arguments(known[name].parameters)))


# -- the registry: what a tools worker calls ---------------------------------------------------------------


@FUZZ
@given(data=st.data())
def test_any_call_is_a_result_or_a_tool_error(tools: tuple[Tool, ...], data: st.DataObject) -> None:
    """Arbitrary names and JSON arguments: a tool's output, or a `ToolError`; no other exception escapes."""
    runs: Counter[str] = Counter()
    registry = ToolRegistry(counted(tools, runs), enabled=names_of(tools))
    name = data.draw(st.sampled_from(names_of(tools)) | st.text(max_size=20))
    arguments = data.draw(st.dictionaries(st.text(max_size=12), json_values | huge_strings, max_size=4))
    try:
        output = registry.call(name, arguments, CONTEXT)
    except ToolError as error:  # refused before it ran, or failed in the tool itself: only that tool ran
        assert runs in (Counter(), Counter({name: 1})), f"{name} ended in {error.code} but {dict(runs)} ran"
        if isinstance(error, UnknownTool):
            assert not runs
        return
    json.dumps(output)  # what the worker journals
    assert runs == Counter({name: 1})


@FUZZ
@given(data=st.data())
def test_bad_calls_are_refused_with_their_own_error_and_nothing_runs(tools: tuple[Tool, ...],
                                                                     data: st.DataObject) -> None:
    runs: Counter[str] = Counter()
    registry = ToolRegistry(counted(tools, runs), enabled=names_of(tools))
    call = data.draw(bad_calls(tools))
    expected = InvalidToolArguments if call.name in names_of(tools) else UnknownTool
    with pytest.raises(expected) as refused:
        registry.call(call.name, call.arguments, CONTEXT)
    assert type(refused.value) is expected  # not a subclass that merely happens to fit
    assert not runs


def test_a_tool_that_is_installed_but_not_enabled_is_unknown(tools: tuple[Tool, ...]) -> None:
    runs: Counter[str] = Counter()
    registry = ToolRegistry(counted(tools, runs), enabled=("calculator",))
    for name in set(names_of(tools)) - {"calculator"}:
        with pytest.raises(UnknownTool):
            registry.call(name, {}, CONTEXT)
    assert not runs


# -- a real tools worker: the refusal is the step's recorded, typed error ------------------------------------


@pytest.fixture(scope="module")
def worker(redis_server: RedisServer, client: redis.Redis,
           tools: tuple[Tool, ...]) -> Iterator[tuple[Celery, Counter[str]]]:
    runs: Counter[str] = Counter()
    with tools_worker(redis_server.url, ToolRegistry(counted(tools, runs), enabled=names_of(tools))) as app:
        yield app, runs


@THROUGH_REDIS
@given(data=st.data())
def test_a_worker_records_bad_calls_as_typed_step_errors_and_runs_nothing(
        worker: tuple[Celery, Counter[str]], client: redis.Redis, tools: tuple[Tool, ...],
        data: st.DataObject) -> None:
    app, runs = worker
    before = Counter(runs)
    call = data.draw(bad_calls(tools)).model_copy(update={"context": WORKER_CONTEXT})
    step = send_tool_step(app, call)
    journal = SyncJournal(client)
    result = wait_until(lambda: journal.get(step.activation_id, step.step), 20, f"the result of {step.task_id}")
    assert result.output is None and result.error is not None
    assert result.error.code == (InvalidToolArguments.code if call.name in names_of(tools) else UnknownTool.code)
    assert runs == before, f"{call.name} was refused but {dict(runs - before)} ran"


def test_side_effects_of_refused_calls_never_happen(worker: tuple[Celery, Counter[str]], client: redis.Redis) -> None:
    """The tools that write (memory, sleep) wrote nothing for any refused call above, and a good call still runs."""
    assert not client.keys(keys.memory_pattern("*")) and not client.exists(keys.asleep(WORKER_CONTEXT.channel_id))
    app, runs = worker
    step = send_tool_step(app, ToolCall(name="calculator", arguments={"expression": "6*7"}, context=WORKER_CONTEXT))
    result = wait_until(lambda: SyncJournal(client).get(step.activation_id, step.step), 20, "a good call")
    assert result.error is None and result.output.output["value"] == 42  # type: ignore[union-attr]
    assert runs["calculator"] >= 1


# -- the planner: refused before any task exists ----------------------------------------------------------


@pytest.fixture(scope="module")
def planner_side(redis_server: RedisServer, client: redis.Redis,
                 tools: tuple[Tool, ...]) -> Iterator[tuple[asyncio.Runner, ContextServices]]:
    """StepContext services on a real Redis; the dispatcher is a real Celery app that no worker consumes."""
    ToolRegistry(tools, enabled=names_of(tools)).publish(client)
    app = make_celery(ServiceSettings(redis_url=redis_server.url), "test-planner-refusals")
    with asyncio.Runner() as runner:
        async_client = aioredis.Redis.from_url(redis_server.url, decode_responses=True)
        journal = Journal(async_client)
        waiter = StepWaiter(async_client, journal, "sb:wake:test-refusals", poll_s=0.2)
        runner.run(waiter.start())
        used = dict(journal=journal, waiter=waiter, dispatcher=StepDispatcher(app), metrics=Metrics(),
                    step_timeout_s=2.0, supersession=Supersession(async_client), tools=ToolCatalog(async_client))
        # Nothing but the tool path is reached: the other services are left out.
        services = ContextServices(**{f.name: used.get(f.name) for f in dataclasses.fields(ContextServices)
                                      if f.default is dataclasses.MISSING})
        yield runner, services
        runner.run(waiter.close())
        runner.run(async_client.aclose())


def queued(client: redis.Redis) -> int:
    return client.llen(Queue.TOOLS.value) + client.llen(Queue.INFERENCE.value)


_planner_ids = iter(range(80_000, 90_000))


@THROUGH_REDIS
@given(data=st.data())
def test_the_planner_refuses_disallowed_and_invalid_calls_before_queueing_anything(
        planner_side: tuple[asyncio.Runner, ContextServices], client: redis.Redis, tools: tuple[Tool, ...],
        data: st.DataObject) -> None:
    runner, services = planner_side
    installed = frozenset(names_of(tools)) | ROLE_TOOLS.keys()
    allowed = data.draw(st.frozensets(st.sampled_from(sorted(installed)), min_size=1))
    call = data.draw(bad_calls((*tools, *role_tool_shapes()), allowed))
    activation = Activation(id=str(next(_planner_ids)), trigger=Trigger.MENTION, guild_id="g1", channel_id="c1",
                            message_id="1", author_id="u1", author_name="mallory", content="call it")
    ctx = StepContext(activation, Persona("p", "be brief"), services, allowed)
    expected = InvalidToolArguments if call.name in allowed else ToolNotAllowed
    with pytest.raises(expected):
        runner.run(ctx.tool(call.name, call.arguments))
    assert queued(client) == 0
    [refusal] = [SyncJournal(client).get(activation.id, step) for step in client.hkeys(keys.journal(activation.id))]
    assert refusal is not None and refusal.worker == "planner" and refusal.error.code == expected.code  # type: ignore[union-attr]


def role_tool_shapes() -> tuple[Tool, ...]:
    """The model-role tools (`imagine`, `describe_image`) as `Tool` shapes, for generating their bad arguments."""
    return tuple(Tool(name=tool.name, description=tool.description, parameters=tool.parameters, run=lambda **_: None)
                 for tool in ROLE_TOOLS.values())
