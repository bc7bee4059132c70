"""The Anthropic Messages stream parser, fed lines directly (no server), and the request mapping."""

from __future__ import annotations

import json
from typing import Any

import pytest

from switchboard.core.errors import InferenceError, ModelUnavailable
from switchboard.inference.providers.anthropic_request import anthropic_body, anthropic_messages
from switchboard.inference.providers.anthropic_stream import AnthropicStreamParser
from switchboard.inference.providers.openai_stream import UNPARSED_KEY


def event(kind: str, **fields: Any) -> list[str]:
    """One server-sent event as the API writes it: its `event:` line, its `data:` line, the blank line."""
    return [f"event: {kind}", "data: " + json.dumps({"type": kind, **fields}), ""]


def start(input_tokens: int = 10, model: str = "claude-test-4") -> list[str]:
    return event("message_start", message={
        "id": "msg_1", "type": "message", "role": "assistant", "content": [], "model": model,
        "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": input_tokens, "output_tokens": 1}})


def text_block(index: int, *pieces: str) -> list[str]:
    lines = event("content_block_start", index=index, content_block={"type": "text", "text": ""})
    for piece in pieces:
        lines += event("content_block_delta", index=index, delta={"type": "text_delta", "text": piece})
    return lines + event("content_block_stop", index=index)


def tool_block(index: int, call_id: str, name: str, *pieces: str) -> list[str]:
    lines = event("content_block_start", index=index,
                  content_block={"type": "tool_use", "id": call_id, "name": name, "input": {}})
    for piece in pieces:
        lines += event("content_block_delta", index=index, delta={"type": "input_json_delta", "partial_json": piece})
    return lines + event("content_block_stop", index=index)


def finish(stop_reason: str, output_tokens: int = 5) -> list[str]:
    return (event("message_delta", delta={"stop_reason": stop_reason, "stop_sequence": None},
                  usage={"output_tokens": output_tokens})
            + event("message_stop"))


def feed(lines: list[str]) -> tuple[list[str], dict[str, Any]]:
    parser = AnthropicStreamParser("configured-model")
    deltas = [chunk["text"] for line in lines for chunk in parser.feed(line)]
    assert parser.finished == any('"message_stop"' in line for line in lines)
    return deltas, parser.done()


def test_text_deltas_usage_model_and_finish() -> None:
    deltas, done = feed([*start(12), *event("ping"), *text_block(0, "Hello", ", world"), *finish("end_turn", 3)])

    assert deltas == ["Hello", ", world"]
    assert done == {"type": "done", "finish_reason": "stop", "model": "claude-test-4",
                    "prompt_tokens": 12, "completion_tokens": 3}


def test_tool_input_fragments_are_joined_per_block_and_parsed() -> None:
    _, done = feed([
        *start(), *text_block(0, "Let me look."),
        *tool_block(1, "toolu_a", "web_search", "", '{"query": "ra', 'in in Paris"', ', "n": 3}'),
        *tool_block(2, "toolu_b", "now"),
        *finish("tool_use")])

    assert done["finish_reason"] == "tool_calls"
    assert done["tool_calls"] == [
        {"id": "toolu_a", "name": "web_search", "arguments": {"query": "rain in Paris", "n": 3}},
        {"id": "toolu_b", "name": "now", "arguments": {}}]


def test_interleaved_fragments_go_to_their_own_block() -> None:
    parser = AnthropicStreamParser("m")
    for line in [*start(), *event("content_block_start", index=0, content_block={
                     "type": "tool_use", "id": "toolu_a", "name": "a", "input": {}}),
                 *event("content_block_start", index=1, content_block={
                     "type": "tool_use", "id": "toolu_b", "name": "b", "input": {}}),
                 *event("content_block_delta", index=1, delta={"type": "input_json_delta", "partial_json": '{"y"'}),
                 *event("content_block_delta", index=0, delta={"type": "input_json_delta", "partial_json": '{"x"'}),
                 *event("content_block_delta", index=0, delta={"type": "input_json_delta", "partial_json": ": 1}"}),
                 *event("content_block_delta", index=1, delta={"type": "input_json_delta", "partial_json": ": 2}"}),
                 *finish("tool_use")]:
        parser.feed(line)

    assert [call["arguments"] for call in parser.done()["tool_calls"]] == [{"x": 1}, {"y": 2}]


def test_malformed_tool_input_is_kept_raw_for_the_planner() -> None:
    _, done = feed([*start(), *tool_block(0, "toolu_a", "web_search", '{"query": "unterminated'),
                    *finish("tool_use")])

    assert done["tool_calls"] == [
        {"id": "toolu_a", "name": "web_search", "arguments": {UNPARSED_KEY: '{"query": "unterminated'}}]


@pytest.mark.parametrize(("stop_reason", "finish_reason"), [
    ("end_turn", "stop"), ("stop_sequence", "stop"), ("max_tokens", "length"), ("tool_use", "tool_calls"),
    ("refusal", "content_filter"), ("a_reason_from_the_future", "stop"),
])
def test_stop_reasons_map_to_the_bridges_finish_reasons(stop_reason: str, finish_reason: str) -> None:
    _, done = feed([*start(), *text_block(0, "x"), *finish(stop_reason)])

    assert done["finish_reason"] == finish_reason


def test_thinking_and_unknown_events_give_no_text() -> None:
    deltas, done = feed([
        *start(), *event("content_block_start", index=0, content_block={"type": "thinking", "thinking": ""}),
        *event("content_block_delta", index=0, delta={"type": "thinking_delta", "thinking": "hmm"}),
        *event("content_block_delta", index=0, delta={"type": "signature_delta", "signature": "abc"}),
        *event("content_block_stop", index=0), *event("a_new_event_type"), *text_block(1, "Answer"),
        *finish("end_turn")])

    assert deltas == ["Answer"]
    assert "tool_calls" not in done


def test_cached_prompt_tokens_count_and_usage_is_a_running_total() -> None:
    parser = AnthropicStreamParser("m")
    parser.feed("data: " + json.dumps({"type": "message_start", "message": {"model": "m", "usage": {
        "input_tokens": 5, "cache_creation_input_tokens": 100, "cache_read_input_tokens": 20, "output_tokens": 1}}}))
    parser.feed("data: " + json.dumps({"type": "message_delta", "delta": {}, "usage": {"output_tokens": 7}}))
    parser.feed("data: " + json.dumps({"type": "message_delta", "delta": {"stop_reason": "end_turn"},
                                       "usage": {"output_tokens": 9}}))

    done = parser.done()
    assert (done["prompt_tokens"], done["completion_tokens"]) == (125, 9)


@pytest.mark.parametrize(("kind", "error_class"), [
    ("overloaded_error", ModelUnavailable), ("api_error", ModelUnavailable), ("rate_limit_error", ModelUnavailable),
    ("invalid_request_error", InferenceError),
])
def test_an_error_event_is_typed_by_what_a_retry_could_do(kind: str, error_class: type[InferenceError]) -> None:
    parser = AnthropicStreamParser("m")
    for line in [*start(), *text_block(0, "Hel")]:
        parser.feed(line)

    with pytest.raises(error_class, match="mid-answer: Overloaded") as raised:
        for line in event("error", error={"type": kind, "message": "Overloaded"}):
            parser.feed(line)
    assert type(raised.value) is error_class


def test_a_stream_cut_before_the_stop_reason_is_model_unavailable() -> None:
    parser = AnthropicStreamParser("m")
    for line in [*start(), *text_block(0, "Hel")]:
        parser.feed(line)

    with pytest.raises(ModelUnavailable, match="ended before"):
        parser.done()


def test_garbage_and_nameless_tool_calls_are_inference_failed() -> None:
    with pytest.raises(InferenceError, match="unreadable"):
        AnthropicStreamParser("m").feed("data: {not json")
    with pytest.raises(InferenceError, match="not an object"):
        AnthropicStreamParser("m").feed("data: [1, 2]")
    parser = AnthropicStreamParser("m")
    for line in [*start(), *tool_block(0, "toolu_a", ""), *finish("tool_use")]:
        parser.feed(line)
    with pytest.raises(InferenceError, match="without a tool name"):
        parser.done()


def test_system_messages_go_top_level_and_tool_turns_become_blocks() -> None:
    request = {"max_tokens": 64, "temperature": 1.6, "seed": 3, "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "content": "Looking.", "tool_calls": [
            {"id": "toolu_a", "name": "web_search", "arguments": {"query": "weather"}},
            {"id": "toolu_b", "name": "now", "arguments": {}}]},
        {"role": "tool", "content": "sunny", "tool_call_id": "toolu_a"},
        {"role": "tool", "content": "12:00", "tool_call_id": "toolu_b"},
        {"role": "system", "content": "Answer in French."}],
        "tools": [{"name": "now", "description": "The time.", "parameters": {"type": "object"}},
                  {"name": "bare"}]}

    body = anthropic_body(request, "claude-test-4")

    assert body == {
        "model": "claude-test-4", "max_tokens": 64, "temperature": 1.0, "stream": True,
        "system": "Be brief.\n\nAnswer in French.",
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "weather?"}]},
            {"role": "assistant", "content": [
                {"type": "text", "text": "Looking."},
                {"type": "tool_use", "id": "toolu_a", "name": "web_search", "input": {"query": "weather"}},
                {"type": "tool_use", "id": "toolu_b", "name": "now", "input": {}}]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_a", "content": "sunny"},
                {"type": "tool_result", "tool_use_id": "toolu_b", "content": "12:00"}]}],
        "tools": [{"name": "now", "description": "The time.", "input_schema": {"type": "object"}},
                  {"name": "bare", "description": "", "input_schema": {"type": "object"}}]}


def test_turns_alternate_results_lead_and_empty_text_is_left_out() -> None:
    messages = anthropic_messages([
        {"role": "user", "content": "one"}, {"role": "user", "content": "two"},
        {"role": "assistant", "content": "", "tool_calls": [{"id": "t1", "name": "now", "arguments": {}}]},
        {"role": "tool", "content": "", "tool_call_id": "t1"},
        {"role": "user", "content": "and now?"}])

    assert messages == [
        {"role": "user", "content": [{"type": "text", "text": "one"}, {"type": "text", "text": "two"}]},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "now", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1"},
                                     {"type": "text", "text": "and now?"}]}]


@pytest.mark.parametrize(("choice", "sent"), [
    ("auto", {"type": "auto"}), ("none", {"type": "none"}), ("required", {"type": "any"}), ("any", {"type": "any"}),
    ("now", {"type": "tool", "name": "now"}),
])
def test_a_tool_choice_is_sent_in_anthropics_terms(choice: str, sent: dict[str, Any]) -> None:
    request = {"max_tokens": 8, "temperature": 0.5, "messages": [{"role": "user", "content": "time?"}],
               "tools": [{"name": "now"}], "tool_choice": choice}

    assert anthropic_body(request, "m")["tool_choice"] == sent
    assert "tool_choice" not in anthropic_body({**request, "tools": []}, "m")
    with pytest.raises(InferenceError, match="names no tool"):
        anthropic_body({**request, "tool_choice": "web_search"}, "m")
