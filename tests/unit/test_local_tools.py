"""How the local llama.cpp engine offers tools and reads a call back (no model here: see test_model_host)."""

from __future__ import annotations

import json

import pytest
from llama_cpp import LlamaGrammar
from pydantic import ValidationError

from switchboard.core.wire import ChatMessage, InferenceRequest, ToolSpec
from switchboard.inference.deployments.errors import InvalidChatRequestError
from switchboard.inference.deployments.local_tools import ToolOffer, offered
from switchboard.inference.deployments.protocol import parse_chat_request
from switchboard.inference.tool_choice import ToolChoice

CLOCK = {"name": "clock", "description": "The time now in a timezone",
         "parameters": {"type": "object", "properties": {"timezone": {"type": "string"}}, "required": ["timezone"]}}
CALCULATOR = {"name": "calculator", "description": "Evaluate arithmetic",
              "parameters": {"type": "object", "properties": {"expression": {"type": "string"}}}}
TOOLS = [CLOCK, CALCULATOR]


def request(**extra: object) -> dict:
    return {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 8, "temperature": 0, **extra}


@pytest.mark.parametrize(("choice", "names", "forced"), [
    (None, ["clock", "calculator"], False), (ToolChoice("auto"), ["clock", "calculator"], False),
    (ToolChoice("required"), ["clock", "calculator"], True), (ToolChoice("tool", "clock"), ["clock"], True)])
def test_the_choice_decides_what_is_offered_and_whether_a_call_is_forced(
        choice: ToolChoice | None, names: list[str], forced: bool) -> None:
    offer = ToolOffer.from_request(TOOLS, choice)

    assert offer is not None and [tool["name"] for tool in offer.tools] == names and offer.forced is forced
    assert all(json.dumps(tool["parameters"]) in offer.prompt() for tool in offer.tools)


def test_nothing_is_offered_without_tools_or_with_choice_none() -> None:
    assert ToolOffer.from_request([], ToolChoice("required")) is None
    assert ToolOffer.from_request(TOOLS, ToolChoice("none")) is None


def test_the_offer_joins_the_system_message_or_becomes_one() -> None:
    offer = ToolOffer.from_request(TOOLS, None)
    assert offer is not None

    with_system = offered([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}], offer)
    without = offered([{"role": "user", "content": "hi"}], offer)

    assert with_system[0]["content"].startswith("Be brief.\n\n") and offer.prompt() in with_system[0]["content"]
    assert without[0] == {"role": "system", "content": offer.prompt()} and len(without) == 2


def test_the_call_grammar_compiles_even_for_a_schema_the_converter_cannot_follow() -> None:
    odd = {"name": "lookup", "parameters": {"$ref": "https://example.invalid/schema.json"}}
    offer = ToolOffer.from_request([*TOOLS, odd], ToolChoice("required"))
    assert offer is not None

    grammar = offer.call_grammar()

    assert LlamaGrammar.from_string(grammar, verbose=False) is not None
    assert '\\"lookup\\"' in grammar  # offered, with any object as its arguments


@pytest.mark.parametrize(("text", "calls"), [
    ('{"name": "clock", "arguments": {"timezone": "UTC"}}',
     [{"id": "call_0", "name": "clock", "arguments": {"timezone": "UTC"}}]),
    (' \n{ "name": "calculator", "arguments": {} } ', [{"id": "call_0", "name": "calculator", "arguments": {}}]),
    ('{"name": "rm", "arguments": {}}', None),  # not offered
    ('{"name": "clock", "arguments": "UTC"}', None),
    ('{"name": "clock", "arguments": {"timezone": "UT', None),  # cut off
    ("It is noon.", None)])
def test_a_call_is_read_back_only_when_it_names_an_offered_tool_with_object_arguments(
        text: str, calls: list | None) -> None:
    offer = ToolOffer.from_request(TOOLS, None)
    assert offer is not None and offer.read_calls(text) == calls


def test_the_chat_protocol_carries_the_offer_to_the_engine() -> None:
    parsed = parse_chat_request(request(tools=TOOLS, tool_choice="clock"))
    plain = parse_chat_request(request(tools=TOOLS, tool_choice="none"))

    assert parsed.tools is not None and parsed.tools.forced and [t["name"] for t in parsed.tools.tools] == ["clock"]
    assert plain.tools is None


@pytest.mark.parametrize("extra", [
    {"tools": [{"description": "no name"}]}, {"tools": "clock"}, {"tools": TOOLS, "tool_choice": "rm"},
    {"tools": TOOLS, "tool_choice": ["clock"]}, {"tools": [{"name": "clock", "parameters": "object"}]}])
def test_a_malformed_offer_is_refused_with_a_typed_error(extra: dict) -> None:
    with pytest.raises(InvalidChatRequestError):
        parse_chat_request(request(**extra))


def test_an_inference_request_may_only_force_a_tool_it_offers() -> None:
    spec = ToolSpec(name="clock", description="time", parameters=CLOCK["parameters"])
    messages = (ChatMessage(role="user", content="hi"),)

    assert InferenceRequest(messages=messages, tools=(spec,), tool_choice="clock").tool_choice == "clock"
    assert InferenceRequest(messages=messages, tools=(spec,), tool_choice="required").tool_choice == "required"
    with pytest.raises(ValidationError, match="nor an offered tool"):
        InferenceRequest(messages=messages, tools=(spec,), tool_choice="calculator")
