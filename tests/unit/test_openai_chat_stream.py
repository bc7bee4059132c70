"""The OpenAI Chat Completions stream parser, fed lines directly (no server), and the message mapping."""

from __future__ import annotations

import json
from typing import Any

import pytest

from switchboard.core.errors import InferenceError, ModelUnavailable
from switchboard.inference.deployments.protocol import parse_chat_request
from switchboard.inference.providers.openai_chat import openai_message, openai_tool, openai_tool_choice
from switchboard.inference.providers.openai_stream import UNPARSED_KEY, ChatStreamParser, parse_arguments
from switchboard.inference.tool_choice import read_tool_choice


def data(delta: dict[str, Any] | None = None, finish: str | None = None, **extra: Any) -> str:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    return "data: " + json.dumps({"model": "gpt-test-2025", "choices": choices, **extra})


def call(index: int, arguments: str, call_id: str | None = None, name: str | None = None) -> str:
    function: dict[str, Any] = {"arguments": arguments}
    if name:
        function["name"] = name
    fragment: dict[str, Any] = {"index": index, "function": function}
    if call_id:
        fragment["id"] = call_id
    return data({"tool_calls": [fragment]})


def feed(lines: list[str]) -> tuple[str, dict[str, Any]]:
    parser = ChatStreamParser("configured-model")
    text = "".join(chunk["text"] for line in lines for chunk in parser.feed(line))
    return text, parser.done()


def test_content_deltas_finish_reason_usage_and_model() -> None:
    text, done = feed([
        ": keep-alive", "", data({"role": "assistant", "content": ""}), "",
        data({"content": "Hello"}), data({"content": ", world"}), data({}, "length"),
        data(None, usage={"prompt_tokens": 12, "completion_tokens": 3}), "data: [DONE]"])

    assert text == "Hello, world"
    assert done == {"type": "done", "finish_reason": "length", "model": "gpt-test-2025",
                    "prompt_tokens": 12, "completion_tokens": 3}


def test_tool_call_fragments_are_joined_by_index_and_parsed() -> None:
    text, done = feed([
        call(0, "", "call_a", "web_search"), call(1, '{"ur', "call_b", "fetch"),
        call(0, '{"query": "ra'), call(1, 'l": "https://x.org"}'), call(0, 'in in Paris", "n": 3}'),
        data({}, "tool_calls"), "data: [DONE]"])

    assert text == ""
    assert done["finish_reason"] == "tool_calls"
    assert done["tool_calls"] == [
        {"id": "call_a", "name": "web_search", "arguments": {"query": "rain in Paris", "n": 3}},
        {"id": "call_b", "name": "fetch", "arguments": {"url": "https://x.org"}}]


def test_a_repeated_id_or_name_is_not_doubled_and_a_missing_id_gets_one() -> None:
    _, done = feed([call(0, "{}", name="now"), call(0, "", name="now"), data({}, "tool_calls"), "data: [DONE]"])

    assert done["tool_calls"] == [{"id": "call_0", "name": "now", "arguments": {}}]


def test_llama_cpp_python_fragments_repeat_id_and_name_and_carry_legacy_fields() -> None:
    """What llama-cpp-python's server (chatml-function-calling, a forced tool) streams, trimmed."""
    def piece(arguments: str) -> str:
        return data({"role": None, "content": None, "function_call": {"name": "get_weather", "arguments": arguments},
                     "tool_calls": [{"index": 0, "id": "call__0_get_weather_cmpl-1", "type": "function",
                                     "function": {"name": "get_weather", "arguments": arguments}}]})
    _, done = feed([
        data({"role": "assistant", "content": None, "function_call": None, "tool_calls": None}),
        piece("{"), piece(' "city'), piece('": "Paris"'), piece(" }"), piece(""),
        data({"role": None, "content": None, "function_call": None, "tool_calls": None}, "tool_calls"),
        "data: [DONE]"])

    assert done["tool_calls"] == [{"id": "call__0_get_weather_cmpl-1", "name": "get_weather",
                                   "arguments": {"city": "Paris"}}]


def test_fragments_without_index_start_a_call_per_new_id_or_name() -> None:
    """Some compatible servers leave `index` out and send each call whole; they used to merge into call 0."""
    def whole(call_id: str | None, name: str | None, arguments: str, index: Any = "absent") -> dict[str, Any]:
        fragment: dict[str, Any] = {"function": {"arguments": arguments}}
        if call_id:
            fragment["id"] = call_id
        if name:
            fragment["function"]["name"] = name
        if index != "absent":
            fragment["index"] = index
        return fragment

    _, done = feed([
        data({"tool_calls": [whole("c1", "web_search", '{"query": '), whole(None, None, '"rain"}')]}),
        data({"tool_calls": [whole("c2", "web_search", '{"query": "sun"}', index=None)]}),
        data({"tool_calls": [whole(None, "now", "{}")]}),
        data({}, "tool_calls"), "data: [DONE]"])

    assert done["tool_calls"] == [
        {"id": "c1", "name": "web_search", "arguments": {"query": "rain"}},
        {"id": "c2", "name": "web_search", "arguments": {"query": "sun"}},
        {"id": "call_2", "name": "now", "arguments": {}}]


def test_a_tool_calling_answer_that_finishes_with_stop_reports_tool_calls() -> None:
    _, done = feed([call(0, "{}", "call_a", "now"), data({}, "stop"), "data: [DONE]"])
    _, truncated = feed([call(0, '{"a": ', "call_a", "now"), data({}, "length"), "data: [DONE]"])

    assert done["finish_reason"] == "tool_calls"
    assert truncated["finish_reason"] == "length"  # a cut answer stays visible as one


def test_a_tool_call_that_is_not_an_object_is_inference_failed() -> None:
    with pytest.raises(InferenceError, match="tool call that is not an object"):
        ChatStreamParser("m").feed(data({"tool_calls": ["get_weather"]}))


@pytest.mark.parametrize(("raw", "arguments"), [
    ("", {}), ("  ", {}), ('{"a": 1}', {"a": 1}),
    ('{"a": 1', {UNPARSED_KEY: '{"a": 1'}), ("[1, 2]", {UNPARSED_KEY: "[1, 2]"}), ("null", {UNPARSED_KEY: "null"}),
])
def test_arguments_that_are_not_a_json_object_are_kept_raw(raw: str, arguments: dict[str, Any]) -> None:
    assert parse_arguments(raw) == arguments


def test_a_stream_cut_before_the_finish_is_model_unavailable() -> None:
    parser = ChatStreamParser("m")
    parser.feed(data({"content": "Hel"}))

    with pytest.raises(ModelUnavailable, match="ended before"):
        parser.done()


def test_an_error_event_or_garbage_is_inference_failed() -> None:
    with pytest.raises(InferenceError, match="mid-answer: overloaded"):
        ChatStreamParser("m").feed('data: {"error": {"message": "overloaded"}}')
    with pytest.raises(InferenceError, match="unreadable"):
        ChatStreamParser("m").feed("data: {not json")


def test_a_tool_call_without_a_name_is_inference_failed() -> None:
    parser = ChatStreamParser("m")
    parser.feed(call(0, "{}", "call_x"))
    parser.feed("data: [DONE]")

    with pytest.raises(InferenceError, match="without a tool name"):
        parser.done()


def test_messages_map_to_openai_format() -> None:
    asked = {"role": "assistant", "content": "",
             "tool_calls": [{"id": "call_1", "name": "now", "arguments": {"tz": "UTC"}}]}
    answered = {"role": "tool", "content": "12:00", "tool_call_id": "call_1"}

    assert openai_message(asked) == {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_1", "type": "function", "function": {"name": "now", "arguments": '{"tz": "UTC"}'}}]}
    assert openai_message(answered) == {"role": "tool", "tool_call_id": "call_1", "content": "12:00"}
    assert openai_message({"role": "user", "content": "hi"}) == {"role": "user", "content": "hi"}
    assert openai_tool({"name": "now", "description": "the time", "parameters": {"type": "object"}}) == {
        "type": "function", "function": {"name": "now", "description": "the time", "parameters": {"type": "object"}}}


@pytest.mark.parametrize(("choice", "sent"), [
    ("auto", "auto"), ("none", "none"), ("required", "required"), ("any", "required"),
    ("now", {"type": "function", "function": {"name": "now"}})])
def test_tool_choice_maps_to_openai_format(choice: str, sent: str | dict[str, Any]) -> None:
    read = read_tool_choice({"tool_choice": choice, "tools": [{"name": "now"}]})

    assert read is not None and openai_tool_choice(read) == sent


def test_local_engines_read_tool_turns_as_text() -> None:
    request = parse_chat_request({"max_tokens": 8, "temperature": 0.5, "tools": [{"name": "now"}], "messages": [
        {"role": "user", "content": "time?"},
        {"role": "assistant", "content": "", "tool_calls": [{"id": "c1", "name": "now", "arguments": {}}]},
        {"role": "tool", "content": "12:00", "tool_call_id": "c1"}]})

    assert request.messages == (
        {"role": "user", "content": "time?"},
        {"role": "assistant", "content": "[called tools: now({})]"},
        {"role": "user", "content": "[result of tool call c1] 12:00"})
