"""The Gemini stream parser, fed lines directly (no server), and the request mapping."""

from __future__ import annotations

import json
from typing import Any

import pytest

from switchboard.core.errors import InferenceError, ModelUnavailable
from switchboard.inference.providers.gemini_request import SKIPPED_SIGNATURE, gemini_body, gemini_contents
from switchboard.inference.providers.gemini_stream import GeminiStreamParser
from switchboard.inference.providers.openai_stream import UNPARSED_KEY


def data(parts: list[dict[str, Any]] | None = None, finish: str | None = None,
         usage: dict[str, Any] | None = None, **extra: Any) -> str:
    """One `data:` line: a GenerateContentResponse with one candidate (none when `parts` is None)."""
    event: dict[str, Any] = {"modelVersion": "gemini-test-2.5", **extra}
    if parts is not None:
        candidate: dict[str, Any] = {"content": {"parts": parts, "role": "model"}, "index": 0}
        if finish:
            candidate["finishReason"] = finish
        event["candidates"] = [candidate]
    if usage:
        event["usageMetadata"] = usage
    return "data: " + json.dumps(event)


def call(name: str, args: Any, call_id: str | None = None, **extra: Any) -> dict[str, Any]:
    function: dict[str, Any] = {"name": name, "args": args}
    if call_id:
        function["id"] = call_id
    return {"functionCall": function, **extra}


def feed(lines: list[str]) -> tuple[list[str], dict[str, Any]]:
    parser = GeminiStreamParser("configured-model")
    deltas = [chunk["text"] for line in lines for chunk in parser.feed(line)]
    assert not parser.finished  # no end marker: the loop reads to the body's end
    return deltas, parser.done()


def test_text_deltas_usage_model_and_finish() -> None:
    deltas, done = feed([
        data([{"text": "Hello"}], usage={"promptTokenCount": 12, "totalTokenCount": 12}), "",
        data([{"text": ", world"}]), "",
        data([{"text": "!"}], "STOP", {"promptTokenCount": 12, "candidatesTokenCount": 3, "totalTokenCount": 15})])

    assert deltas == ["Hello", ", world", "!"]
    assert done == {"type": "done", "finish_reason": "stop", "model": "gemini-test-2.5",
                    "prompt_tokens": 12, "completion_tokens": 3}


def test_function_calls_get_stable_ids_and_make_the_finish_tool_calls() -> None:
    _, done = feed([
        data([{"text": "Let me look."}]),
        data([call("web_search", {"query": "rain in Paris", "n": 3}, thoughtSignature="c2ln")]),
        data([call("now", {}), call("fetch", {"url": "https://x.org"}, "given-id")], "STOP")])

    assert done["finish_reason"] == "tool_calls"
    assert done["tool_calls"] == [
        {"id": "call_0", "name": "web_search", "arguments": {"query": "rain in Paris", "n": 3}},
        {"id": "call_1", "name": "now", "arguments": {}},
        {"id": "given-id", "name": "fetch", "arguments": {"url": "https://x.org"}}]


@pytest.mark.parametrize(("args", "arguments"), [
    (None, {}), ({"a": 1}, {"a": 1}), ([1, 2], {UNPARSED_KEY: "[1, 2]"}), ("text", {UNPARSED_KEY: '"text"'}),
])
def test_arguments_that_are_not_an_object_are_kept_raw(args: Any, arguments: dict[str, Any]) -> None:
    _, done = feed([data([call("f", args)], "STOP")])

    assert done["tool_calls"][0]["arguments"] == arguments


@pytest.mark.parametrize(("finish", "finish_reason"), [
    ("STOP", "stop"), ("MAX_TOKENS", "length"), ("SAFETY", "content_filter"), ("RECITATION", "content_filter"),
    ("PROHIBITED_CONTENT", "content_filter"), ("OTHER", "stop"), ("MALFORMED_FUNCTION_CALL", "stop"),
])
def test_finish_reasons_map_to_the_bridges(finish: str, finish_reason: str) -> None:
    _, done = feed([data([{"text": "x"}], finish)])

    assert done["finish_reason"] == finish_reason


def test_a_blocked_prompt_is_content_filter() -> None:
    _, done = feed([data(promptFeedback={"blockReason": "SAFETY"}, usage={"promptTokenCount": 4})])

    assert (done["finish_reason"], done["prompt_tokens"], done["completion_tokens"]) == ("content_filter", 4, 0)


def test_thoughts_are_not_answer_text_but_count_as_output() -> None:
    deltas, done = feed([
        data([{"text": "Considering the question", "thought": True}]),
        data([{"text": "Answer"}], "STOP", {"promptTokenCount": 5, "candidatesTokenCount": 1,
                                            "thoughtsTokenCount": 40})])

    assert deltas == ["Answer"]
    assert done["completion_tokens"] == 41


@pytest.mark.parametrize(("error", "error_class"), [
    ({"code": 503, "message": "The model is overloaded.", "status": "UNAVAILABLE"}, ModelUnavailable),
    ({"code": 429, "message": "The model is overloaded.", "status": "RESOURCE_EXHAUSTED"}, ModelUnavailable),
    ({"code": 400, "message": "The model is overloaded.", "status": "INVALID_ARGUMENT"}, InferenceError),
])
def test_an_error_event_is_typed_by_what_a_retry_could_do(error: dict[str, Any],
                                                           error_class: type[InferenceError]) -> None:
    parser = GeminiStreamParser("m")
    parser.feed(data([{"text": "Hel"}]))

    with pytest.raises(error_class, match="mid-answer: The model is overloaded") as raised:
        parser.feed("data: " + json.dumps({"error": error}))
    assert type(raised.value) is error_class


def test_a_stream_cut_before_the_finish_is_model_unavailable() -> None:
    parser = GeminiStreamParser("m")
    parser.feed(data([{"text": "Hel"}]))

    with pytest.raises(ModelUnavailable, match="ended before"):
        parser.done()


def test_garbage_and_nameless_calls_are_inference_failed() -> None:
    with pytest.raises(InferenceError, match="unreadable"):
        GeminiStreamParser("m").feed("data: {not json")
    with pytest.raises(InferenceError, match="not an object"):
        GeminiStreamParser("m").feed(data(["a part that is a string"]))  # type: ignore[list-item]
    with pytest.raises(InferenceError, match="without a tool name"):
        GeminiStreamParser("m").feed(data([{"functionCall": {"args": {}}}]))


def test_the_request_names_each_result_by_its_call_and_signs_each_model_turn() -> None:
    request = {"max_tokens": 64, "temperature": 0.3, "seed": 7, "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "content": "Looking.", "tool_calls": [
            {"id": "call_0", "name": "web_search", "arguments": {"query": "weather"}},
            {"id": "call_1", "name": "now", "arguments": {}}]},
        {"role": "tool", "content": "sunny", "tool_call_id": "call_0"},
        {"role": "tool", "content": "12:00", "tool_call_id": "call_1"}],
        "tools": [{"name": "now", "description": "The time.",
                   "parameters": {"type": "object", "additionalProperties": False}}, {"name": "bare"}]}

    body = gemini_body(request)

    assert body == {
        "systemInstruction": {"parts": [{"text": "Be brief."}]},
        "contents": [
            {"role": "user", "parts": [{"text": "weather?"}]},
            {"role": "model", "parts": [
                {"text": "Looking."},
                {"functionCall": {"name": "web_search", "args": {"query": "weather"}},
                 "thoughtSignature": SKIPPED_SIGNATURE},
                {"functionCall": {"name": "now", "args": {}}}]},
            {"role": "user", "parts": [
                {"functionResponse": {"name": "web_search", "response": {"output": "sunny"}}},
                {"functionResponse": {"name": "now", "response": {"output": "12:00"}}}]}],
        "tools": [{"functionDeclarations": [
            {"name": "now", "description": "The time.",
             "parametersJsonSchema": {"type": "object", "additionalProperties": False}},
            {"name": "bare", "description": "", "parametersJsonSchema": {"type": "object"}}]}],
        "generationConfig": {"maxOutputTokens": 64, "temperature": 0.3, "seed": 7}}
    assert "seed" not in gemini_body({**request, "seed": None})["generationConfig"]


def test_a_result_whose_call_was_trimmed_away_is_sent_as_text_and_empty_text_is_left_out() -> None:
    contents = gemini_contents([
        {"role": "tool", "content": "sunny", "tool_call_id": "call_9"},
        {"role": "user", "content": ""},
        {"role": "user", "content": "and now?"},
        {"role": "assistant", "content": ""}])

    assert contents == [{"role": "user", "parts": [{"text": "[result of tool call call_9] sunny"},
                                                   {"text": "and now?"}]}]


@pytest.mark.parametrize(("choice", "sent"), [
    ("auto", {"mode": "AUTO"}), ("none", {"mode": "NONE"}), ("required", {"mode": "ANY"}),
    ("now", {"mode": "ANY", "allowedFunctionNames": ["now"]}),
])
def test_a_tool_choice_is_sent_as_the_function_calling_config(choice: str, sent: dict[str, Any]) -> None:
    request = {"max_tokens": 8, "temperature": 0.5, "messages": [{"role": "user", "content": "time?"}],
               "tools": [{"name": "now"}], "tool_choice": choice}

    assert gemini_body(request)["toolConfig"] == {"functionCallingConfig": sent}
    with pytest.raises(InferenceError, match="names no tool"):
        gemini_body({**request, "tool_choice": "web_search"})
