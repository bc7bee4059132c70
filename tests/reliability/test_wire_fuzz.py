"""Wire models fuzzed: whatever bytes arrive, `WireModel.from_json` returns the model or raises the typed
`InvalidPayload`, never another exception; what a reader accepts it can write back for the next reader.

Generated inputs: arbitrary text and bytes, arbitrary JSON, and real payloads (one valid sample of every
wire model, `tests/support/wire_samples.py`) with fields dropped, replaced by other JSON values or wrong
containers, blown up into megabyte strings, nested past any sane depth, or joined by unknown keys.
"""

from __future__ import annotations

import asyncio
import copy
import json
from datetime import date
from typing import Any

import pytest
import redis.asyncio as aioredis
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from switchboard.core import keys
from switchboard.core.errors import InvalidPayload
from switchboard.core.keys import STREAM_FIELD, Stream
from switchboard.core.metrics import Metrics
from switchboard.core.plugins import CallContext, Callsystem, CallsystemRegistry
from switchboard.core.wire import Activation, ActivationRecord, LaneStats, Reply, StepRequest, StepResult, WireModel
from switchboard.planner.__main__ import build_planner
from switchboard.planner.settings import PlannerSettings
from tests.support.wire_samples import SAMPLES, wire_models

MODELS = sorted({type(sample) for sample in SAMPLES}, key=lambda model: model.__name__)
FUZZ = settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])

# JSON as other services could write it. Numbers stay finite and within a double's range: non-finite ones
# are a separate, known problem (see the tests at the end).
scalars = (st.none() | st.booleans() | st.integers(min_value=-(2**63), max_value=2**63)
           | st.floats(allow_nan=False, allow_infinity=False, min_value=-1e300, max_value=1e300) | st.text(max_size=40))
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=12), inner, max_size=4), max_leaves=12)
huge_strings = st.integers(min_value=100_000, max_value=3_000_000).map(lambda n: "ü" * n)


def parse(model: type[WireModel], raw: str | bytes) -> WireModel | None:
    """The parsed model, or None when refused with `InvalidPayload`; any other exception fails the test."""
    try:
        parsed = model.from_json(raw)
    except InvalidPayload as refused:
        assert refused.model == model.__name__ and refused.code == "invalid_payload"
        return None
    assert isinstance(parsed, model)
    return parsed


def assert_round_trips(model: type[WireModel], parsed: WireModel) -> None:
    """What one service accepted, the next one reads back the same (a journal or stream entry it writes)."""
    again = parse(model, parsed.to_json())
    assert again == parsed, f"{model.__name__} accepted a payload it cannot write back"


def paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key or index inside a JSON document, as paths from the root."""
    found: list[tuple[Any, ...]] = []
    items = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ()
    for key, value in items:
        found.append((*prefix, key))
        found += paths(value, (*prefix, key))
    return found


@st.composite
def mutated(draw: st.DrawFn) -> tuple[type[WireModel], dict[str, Any]]:
    """A real payload of some model with one to three things wrong with it."""
    sample = draw(st.sampled_from(SAMPLES))
    data: dict[str, Any] = copy.deepcopy(sample.model_dump(mode="json"))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        where = draw(st.sampled_from(paths(data) or [("kind",)]))
        parent = data
        for key in where[:-1]:
            parent = parent[key]
        key = where[-1]
        action = draw(st.sampled_from(["drop", "replace", "huge", "container", "nest", "extra"]))
        if action == "drop" and isinstance(parent, dict):
            parent.pop(key, None)
        elif action == "replace":
            parent[key] = draw(json_values)
        elif action == "huge":
            parent[key] = draw(huge_strings)
        elif action == "container":
            parent[key] = [parent[key]] if draw(st.booleans()) else {"value": parent[key]}
        elif action == "nest":
            parent[key] = json.loads('{"a":' * 300 + "1" + "}" * 300) if draw(st.booleans()) else [[[[[[[]]]]]]]
        elif isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=12))] = draw(json_values)
    return type(sample), data


def test_every_wire_model_has_a_sample_to_fuzz() -> None:
    assert wire_models() <= set(MODELS)


@FUZZ
@given(model=st.sampled_from(MODELS), raw=st.text() | st.binary() | json_values.map(json.dumps))
def test_arbitrary_text_bytes_and_json_are_a_model_or_a_typed_refusal(model: type[WireModel], raw: str | bytes) -> None:
    parse(model, raw)


@FUZZ
@given(case=mutated())
def test_damaged_payloads_are_a_model_or_a_typed_refusal_and_accepted_ones_round_trip(
        case: tuple[type[WireModel], dict[str, Any]]) -> None:
    model, data = case
    parsed = parse(model, json.dumps(data, ensure_ascii=bool(len(data) % 2)))  # escaped or raw UTF-8
    if parsed is not None:
        assert_round_trips(model, parsed)


@FUZZ
@given(sample=st.sampled_from(SAMPLES),
       extra=st.dictionaries(st.text(min_size=1, max_size=20), json_values | huge_strings, min_size=1, max_size=5))
def test_unknown_keys_are_ignored(sample: WireModel, extra: dict[str, Any]) -> None:
    """A newer writer's extra fields never break an older reader (the model is frozen and ignores them)."""
    known = set(type(sample).model_fields)
    data = {**{k: v for k, v in extra.items() if k not in known}, **sample.model_dump(mode="json")}
    assert type(sample).from_json(json.dumps(data)) == sample


@FUZZ
@given(sample=st.sampled_from(SAMPLES), kind=st.text(max_size=30) | scalars)
def test_another_kind_is_refused(sample: WireModel, kind: Any) -> None:
    assume(kind != sample.kind)  # type: ignore[attr-defined]
    assert parse(type(sample), json.dumps({**sample.model_dump(mode="json"), "kind": kind})) is None


@pytest.mark.parametrize("raw", [
    "", " ", "null", "[]", "{}", "0", '"{}"', "{" * 100_000, "[" * 100_000 + "]" * 100_000,
    b"\xff\xfe\x00{", b"\x80abc", '{"kind": "step_request"' + "," * 10_000 + "}", "\ud800",
])
def test_degenerate_documents_are_typed_refusals(raw: str | bytes) -> None:
    for model in (Activation, StepRequest, StepResult):
        assert parse(model, raw) is None


def test_deep_nesting_in_an_open_field_is_a_typed_refusal() -> None:
    """`arguments` and `output` take any JSON; nesting deep enough to exhaust a recursive reader is refused."""
    deep = '{"a":' * 10_000 + "1" + "}" * 10_000
    raw = ('{"kind":"step_request","activation_id":"1","step":"tool:x:0","reply_to":"r",'
           f'"payload":{{"kind":"tool_call","name":"x","arguments":{deep}}}}}')
    assert parse(StepRequest, raw) is None


NON_FINITE = pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e400", str(10**400)],
                                     ids=["NaN", "Infinity", "-Infinity", "1e400", "10**400"])
# Non-finite numbers: JSON cannot say NaN, Infinity or 1e400, so a model that accepted them would write null where a
# number is required, and every reader (replays, the admin API) would then refuse the stored record. WireModel
# refuses them on input.


@NON_FINITE
def test_non_finite_numbers_are_refused_or_survive_a_round_trip(number: str) -> None:
    documents = {
        Activation: '{"id":"1","trigger":"dm","channel_id":"2","message_id":"1","author_id":"7",'
                    f'"author_name":"a","content":"hi","accepted_at":{number}}}',
        StepRequest: '{"activation_id":"1","step":"tool:clock:0","reply_to":"r",'
                     f'"payload":{{"kind":"tool_call","name":"clock"}},"queued_at":{number}}}',
        LaneStats: f'{{"lane":"local:chat","local":true,"capacity":1,"time_to_first_token_s":{number},'
                   '"tokens_per_s":1}',
    }
    for model, raw in documents.items():
        parsed = parse(model, raw)
        if parsed is not None:
            assert_round_trips(model, parsed)



class Answers(Callsystem):
    """Replies at once, so the test is about the planner's own reading and writing."""

    package_id = "cs.test.answers"
    version = "1.0.0"
    release_date = date(2026, 11, 1)

    async def activate(self, ctx: CallContext) -> Reply:
        return ctx.reply("ok")


@NON_FINITE
async def test_the_planner_never_writes_a_record_nobody_can_read(redis_url: str, number: str) -> None:
    """What the round trip above costs in the system: an activation with such a timestamp, put on the stream by
    any writer, is answered, and its record (what replays and the admin API read) is unreadable. Refused
    (dead-lettered as an invalid payload) or readable back is fine."""
    raw = ('{"kind":"activation","id":"nan-1","trigger":"dm","channel_id":"3","message_id":"nan-1",'
           f'"author_id":"7","author_name":"alice","content":"hi","accepted_at":{number}}}')
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    registry = CallsystemRegistry()
    registry.register(Answers)
    settings = PlannerSettings(redis_url=redis_url, default_callsystem="cs.test.answers@latest", read_block_ms=100)
    planner = build_planner(settings, client, Metrics(), registry, blob_client=aioredis.Redis.from_url(redis_url))
    await client.xadd(Stream.ACTIVATIONS.value, {STREAM_FIELD: raw})
    stop = asyncio.Event()
    running = asyncio.create_task(planner.run(stop))
    try:
        for _ in range(200):
            if await client.exists(keys.record("nan-1")) or await client.xlen(Stream.DEAD_LETTERS.value):
                break
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await asyncio.wait_for(running, 10)
    record = await client.get(keys.record("nan-1"))
    dead = await client.xlen(Stream.DEAD_LETTERS.value)
    await client.aclose()
    assert record is not None or dead == 1, "the activation was neither answered nor dead-lettered"
    assert record is None or parse(ActivationRecord, record) is not None, record
