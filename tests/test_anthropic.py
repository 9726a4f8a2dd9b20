"""Claude through Prism: the openai SDK in front, the mock Anthropic Messages API behind."""

import json

import openai
import orjson
import pytest

from gateway.errors import InvalidRequest
from providers.anthropic_translation import request_to_anthropic, usage_to_openai
from tests.conftest import usage_records
from tests.openapi import assert_valid

SYSTEM_AND_USER = [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "Hello there"}]
WEATHER = {"type": "function", "function": {"name": "get_weather", "description": "Weather",
                                            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}


@pytest.fixture
def claude(openai_client, anthropic_upstream):
    return openai_client


def sent(upstream) -> dict:
    headers, body = upstream.received[-1]
    assert "sk-ant-test-not-a-real-key" in (headers.get("x-api-key"), headers.get("Authorization", "").removeprefix("Bearer "))
    return orjson.loads(body)


def test_the_request_is_translated_to_the_messages_api():
    messages = SYSTEM_AND_USER + [
        {"role": "assistant", "content": None,
         "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "Rain"},
        {"role": "user", "content": [{"type": "text", "text": "And tomorrow?"}]},
    ]
    kwargs = request_to_anthropic({"model": "claude-haiku-4-5", "messages": messages, "stop": "END", "temperature": 0.5,
                                   "tools": [WEATHER], "tool_choice": "required", "user": "u1"})
    assert kwargs["system"] == "Be terse." and kwargs["max_tokens"] == 4096 and kwargs["stop_sequences"] == ["END"]
    assert [m["role"] for m in kwargs["messages"]] == ["user", "assistant", "user"]
    assert kwargs["messages"][1]["content"] == [{"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {"city": "Oslo"}}]
    assert kwargs["messages"][2]["content"] == [{"type": "tool_result", "tool_use_id": "call_1", "content": "Rain"},
                                                {"type": "text", "text": "And tomorrow?"}]
    assert kwargs["tool_choice"] == {"type": "any"} and kwargs["tools"][0]["input_schema"]["properties"]["city"]
    assert kwargs["metadata"] == {"user_id": "u1"} and kwargs["temperature"] == 0.5


@pytest.mark.parametrize("param, value", [("n", 2), ("logprobs", True), ("logit_bias", {"1": 1}), ("seed", 1)])
def test_parameters_without_an_anthropic_equivalent_are_refused(param, value):
    with pytest.raises(InvalidRequest) as raised:
        request_to_anthropic({"model": "claude-haiku-4-5", "messages": SYSTEM_AND_USER, param: value})
    assert raised.value.param == param


def test_cache_tokens_count_as_prompt_tokens_and_writes_are_kept_apart():
    usage = usage_to_openai({"input_tokens": 10, "output_tokens": 5, "cache_read_input_tokens": 100,
                             "cache_creation_input_tokens": 20})
    assert usage == {"prompt_tokens": 130, "completion_tokens": 5, "total_tokens": 135,
                     "prompt_tokens_details": {"cached_tokens": 100, "cache_write_tokens": 20}}


def test_a_completion(claude, upstream):
    completion = claude.chat.completions.create(model="claude-haiku-4-5", messages=SYSTEM_AND_USER, stop=["END"])
    assert_valid("CreateChatCompletionResponse", completion.model_dump(exclude_unset=True))
    assert completion.choices[0].message.content == "Hello from Prism's mock model! You said: Hello there"
    assert completion.choices[0].finish_reason == "stop"
    request = sent(upstream)
    assert (request["system"], request["max_tokens"], request["stop_sequences"]) == ("Be terse.", 4096, ["END"])
    [record] = usage_records(1)
    assert (record.provider, record.prompt_tokens, record.completion_tokens) == ("anthropic_provider", 6, 9)


def test_a_stream_with_hidden_usage(claude):
    chunks = [chunk.model_dump(exclude_unset=True) for chunk in
              claude.chat.completions.create(model="claude-haiku-4-5", messages=SYSTEM_AND_USER, stream=True)]
    for chunk in chunks:
        assert_valid("CreateChatCompletionStreamResponse", chunk)
        assert "usage" not in chunk
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks) == (
        "Hello from Prism's mock model! You said: Hello there")
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert usage_records(1)[0].total_tokens == 15


@pytest.mark.parametrize("stream", [False, True])
def test_tool_calls(claude, stream):
    response = claude.chat.completions.create(model="claude-haiku-4-5", messages=SYSTEM_AND_USER, tools=[WEATHER],
                                              stream=stream, max_tokens=100)
    if stream:
        chunks = list(response)
        for chunk in chunks:
            assert_valid("CreateChatCompletionStreamResponse", chunk.model_dump(exclude_unset=True))
        calls = [call for chunk in chunks for call in chunk.choices[0].delta.tool_calls or []]
        name, arguments = calls[0].function.name, "".join(call.function.arguments or "" for call in calls)
        finish = chunks[-1].choices[0].finish_reason
    else:
        assert_valid("CreateChatCompletionResponse", response.model_dump(exclude_unset=True))
        call = response.choices[0].message.tool_calls[0]
        name, arguments, finish = call.function.name, call.function.arguments, response.choices[0].finish_reason
    assert (name, json.loads(arguments), finish) == ("get_weather", {"text": "Hello there"}, "tool_calls")
    usage_records(1)


def test_errors_in_openais_shape(claude, settings):
    settings.PRISM_UPSTREAM_RETRIES = 0
    with pytest.raises(openai.RateLimitError) as raised:
        claude.chat.completions.create(model="claude-fault-429", messages=SYSTEM_AND_USER)
    assert raised.value.response.headers["retry-after"] == "1"
    with pytest.raises(openai.InternalServerError) as raised:
        claude.chat.completions.create(model="claude-fault-529", messages=SYSTEM_AND_USER)
    assert raised.value.status_code == 503
    with pytest.raises(openai.BadRequestError) as raised:
        claude.chat.completions.create(model="claude-haiku-4-5", messages=SYSTEM_AND_USER, n=2)
    assert raised.value.param == "n"
    assert [r.status_code for r in usage_records(3)] == [429, 503, 400]
