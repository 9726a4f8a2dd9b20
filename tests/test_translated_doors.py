"""Doors whose provider speaks another format, translated through chat completions: the real SDKs in front."""

import anthropic
import httpx2 as httpx
import openai
import orjson
import pytest

from tests.conftest import usage_records
from tests.openapi import assert_valid

WEATHER = {"type": "function", "name": "get_weather", "description": "Weather in a city",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}


@pytest.mark.parametrize("model", ["mock-1", "claude-haiku-4-5"])
def test_responses_through_a_chat_only_provider(model, openai_client, anthropic_upstream):
    response = openai_client.responses.with_raw_response.create(model=model, input="Hello there",
                                                               instructions="Be terse.")
    assert_valid("Response", orjson.loads(response.text))
    answer = response.parse()
    assert answer.output_text and answer.status == "completed"
    [record] = usage_records(1)
    assert record.operation == "responses" and record.total_tokens == answer.usage.total_tokens > 0


@pytest.mark.parametrize("model", ["mock-1", "claude-haiku-4-5"])
def test_a_streamed_response_through_a_chat_only_provider(model, openai_client, anthropic_upstream):
    with openai_client.responses.stream(model=model, input="Hello there") as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_response()
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
    assert "response.output_text.delta" in kinds and final.output_text
    [record] = usage_records(1)
    assert record.is_stream and record.total_tokens == final.usage.total_tokens > 0


def test_a_function_call_round_trip_through_responses(openai_client):
    first = openai_client.responses.create(model="mock-1", input="Weather in Oslo?", tools=[WEATHER])
    [call] = [item for item in first.output if item.type == "function_call"]
    second = openai_client.responses.create(model="mock-1", tools=[WEATHER], input=[
        {"role": "user", "content": "Weather in Oslo?"},
        {"type": "function_call", "call_id": call.call_id, "name": call.name, "arguments": call.arguments},
        {"type": "function_call_output", "call_id": call.call_id, "output": "Rain, 4 degrees"},
    ])
    assert second.output_text
    usage_records(2)


@pytest.mark.parametrize("param, value", [("previous_response_id", "resp_abc"), ("store", True)])
def test_stateful_features_of_a_translated_response_answer_400(param, value, openai_client):
    with pytest.raises(openai.BadRequestError) as raised:
        openai_client.responses.create(model="mock-1", input="Hi", **{param: value})
    assert raised.value.body["param"] == param


def test_legacy_completions_through_a_chat_only_provider(openai_client):
    completion = openai_client.completions.create(model="mock-1", prompt="Say this is a test", max_tokens=20)
    assert completion.object == "text_completion" and completion.choices[0].text
    assert_valid("CreateCompletionResponse", completion.model_dump(exclude_unset=True))
    stream = openai_client.completions.create(model="mock-1", prompt="Say this", stream=True,
                                              stream_options={"include_usage": True})
    chunks = list(stream)
    assert "".join(chunk.choices[0].text for chunk in chunks if chunk.choices)
    assert chunks[-1].usage.total_tokens > 0
    records = usage_records(2)
    assert [record.operation for record in records] == ["completions", "completions"]
    assert records[1].total_tokens == chunks[-1].usage.total_tokens


@pytest.fixture
def claude_sdk(prism_url, api_key, transactional_db, upstream):
    with anthropic.Anthropic(base_url=prism_url, api_key=api_key, max_retries=0) as client:
        yield client


def test_the_anthropic_sdk_reaches_an_openai_model(claude_sdk, upstream):
    message = claude_sdk.messages.create(model="gpt-4o", max_tokens=100, system="Be terse.",
                                         messages=[{"role": "user", "content": "Hello there"}])
    assert message.type == "message" and message.content[0].text and message.stop_reason == "end_turn"
    sent = orjson.loads(upstream.received[-1][1])
    assert sent["messages"][0] == {"role": "system", "content": "Be terse."}
    [record] = usage_records(1)
    assert record.operation == "messages" and record.provider == "openai_provider"
    assert (record.prompt_tokens, record.completion_tokens) == (message.usage.input_tokens, message.usage.output_tokens)


def test_a_streamed_anthropic_message_from_an_openai_model_with_a_tool(claude_sdk):
    tool = {"name": "get_weather", "description": "Weather", "input_schema": WEATHER["parameters"]}
    with claude_sdk.messages.stream(model="gpt-4o", max_tokens=100, tools=[tool], tool_choice={"type": "any"},
                                    messages=[{"role": "user", "content": "Weather in Oslo?"}]) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_message()
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    assert final.stop_reason == "tool_use" and final.content[-1].type == "tool_use"
    [record] = usage_records(1)
    assert record.is_stream and record.completion_tokens == final.usage.output_tokens


def test_count_tokens_for_a_model_that_is_not_claude_is_estimated(claude_sdk):
    count = claude_sdk.messages.count_tokens(model="gpt-4o", messages=[{"role": "user", "content": "Hello there"}])
    assert count.input_tokens > 0
    [record] = usage_records(1)
    assert record.operation == "count_tokens" and record.total_tokens == 0


def test_an_openai_upstream_error_reaches_the_anthropic_door_in_anthropics_shape(claude_sdk):
    with pytest.raises(anthropic.RateLimitError) as raised:
        claude_sdk.messages.create(model="gpt-4-fault-429", max_tokens=10,
                                   messages=[{"role": "user", "content": "Hi"}])
    assert raised.value.body["error"]["type"] == "rate_limit_error"


def test_embeddings_to_a_provider_without_them_answer_400_naming_the_model(prism_url, api_key, transactional_db):
    response = httpx.post(f"{prism_url}/v1/embeddings", json={"model": "claude-haiku-4-5", "input": "x"},
                          headers={"Authorization": f"Bearer {api_key}"})
    assert response.status_code == 400 and response.json()["error"]["param"] == "model"
    usage_records(1)
