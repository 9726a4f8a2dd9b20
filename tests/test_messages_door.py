"""The Anthropic door, /v1/messages, driven by the official anthropic SDK through a real server."""

import anthropic
import httpx2 as httpx
import orjson
import pytest

from tests.conftest import usage_records

HELLO = [{"role": "user", "content": "Hello there"}]
SYSTEM = [{"type": "text", "text": "You are terse.", "cache_control": {"type": "ephemeral"}}]


@pytest.fixture
def claude(anthropic_upstream, prism_url, api_key, transactional_db):
    with anthropic.Anthropic(base_url=prism_url, api_key=api_key, max_retries=0) as client:
        yield client


def test_a_message_goes_to_anthropic_as_bytes_with_the_providers_key(claude, anthropic_upstream):
    response = claude.messages.with_raw_response.create(
        model="claude-haiku-4-5", max_tokens=100, system=SYSTEM, messages=HELLO,
        extra_headers={"anthropic-beta": "prompt-caching-2024-07-31,context-1m"},
        extra_body={"a_future_field": {"x": 1}},
    )
    message = response.parse()
    assert message.type == "message" and message.content[0].text
    headers, body = anthropic_upstream.received[-1]
    assert headers["x-api-key"] == "sk-ant-test-not-a-real-key"
    assert headers["anthropic-beta"] == "prompt-caching-2024-07-31,context-1m"
    assert headers["anthropic-version"] == response.http_request.headers["anthropic-version"]
    sent = orjson.loads(body)
    assert sent["system"] == SYSTEM and sent["a_future_field"] == {"x": 1}
    assert response.headers["x-prism-request-id"].startswith("req_")
    [record] = usage_records(1)
    assert record.operation == "messages" and record.provider == "anthropic_provider"
    assert record.completion_tokens == message.usage.output_tokens
    assert record.prompt_tokens == (message.usage.input_tokens + (message.usage.cache_read_input_tokens or 0)
                                    + (message.usage.cache_creation_input_tokens or 0))


def test_a_streamed_message_is_relayed_event_by_event_and_counted(claude):
    with claude.messages.stream(model="claude-haiku-4-5", max_tokens=100, messages=HELLO) as stream:
        events = [event.type for event in stream]
        final = stream.get_final_message()
    assert events[0] == "message_start" and events[-1] == "message_stop"
    [record] = usage_records(1)
    assert record.is_stream and record.completion_tokens == final.usage.output_tokens
    assert record.prompt_tokens >= final.usage.input_tokens and record.usage_source == "upstream"


def test_claude_codes_query_string_and_bearer_auth_are_accepted(anthropic_upstream, prism_url, api_key,
                                                                 transactional_db):
    response = httpx.post(f"{prism_url}/v1/messages?beta=true", headers={
        "Authorization": f"Bearer {api_key}", "anthropic-version": "2023-06-01", "x-app": "cli"},
        json={"model": "claude-haiku-4-5", "max_tokens": 50, "messages": HELLO})
    assert response.status_code == 200, response.text
    assert anthropic_upstream.paths[-1] == "/v1/messages?beta=true"
    usage_records(1)


def test_errors_come_in_anthropics_shape_and_raise_the_sdks_exceptions(anthropic_upstream, prism_url, api_key,
                                                                        transactional_db):
    with anthropic.Anthropic(base_url=prism_url, api_key="prism-wrong-key", max_retries=0) as client:
        with pytest.raises(anthropic.AuthenticationError) as raised:
            client.messages.create(model="claude-haiku-4-5", max_tokens=10, messages=HELLO)
    assert raised.value.body["type"] == "error" and raised.value.body["error"]["type"] == "authentication_error"
    with anthropic.Anthropic(base_url=prism_url, api_key=api_key, max_retries=0) as client:
        with pytest.raises(anthropic.NotFoundError):
            client.messages.create(model="no-such-model", max_tokens=10, messages=HELLO)
        with pytest.raises(anthropic.BadRequestError) as raised:
            client.messages.create(model="claude-haiku-4-5", max_tokens=10, messages="not a list")
        assert raised.value.body["error"]["type"] == "invalid_request_error"
        with pytest.raises(anthropic.RateLimitError):
            client.messages.create(model="claude-fault-429", max_tokens=10, messages=HELLO)
    usage_records(3)


def test_anthropic_clients_list_models_in_anthropics_shape(claude):
    page = claude.models.list()
    ids = [model.id for model in page.data]
    assert "claude-haiku-4-5" in ids and all(model.type == "model" for model in page.data)
    assert claude.models.retrieve("claude-haiku-4-5").display_name == "claude-haiku-4-5"


def test_thinking_a_tool_round_trip_and_cache_tokens_through_to_anthropic(claude):
    tool = {"name": "get_weather", "description": "Weather in a city",
            "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}
    ask = [{"role": "user", "content": "Weather in Oslo?"}]
    first = claude.messages.create(model="claude-haiku-4-5", max_tokens=2000, system=SYSTEM, tools=[tool],
                                   thinking={"type": "enabled", "budget_tokens": 1024}, messages=ask)
    assert [block.type for block in first.content][0] == "thinking" and first.stop_reason == "tool_use"
    call = next(block for block in first.content if block.type == "tool_use")
    answer = [*ask, {"role": "assistant", "content": first.content},
              {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "Rain"}]}]
    with claude.messages.stream(model="claude-haiku-4-5", max_tokens=2000, system=SYSTEM, tools=[tool],
                                messages=answer) as stream:
        final = stream.get_final_message()
    assert final.stop_reason == "end_turn" and final.usage.cache_read_input_tokens > 0
    records = usage_records(2)
    for record, usage in zip(records, (first.usage, final.usage)):
        assert record.cached_tokens == (usage.cache_read_input_tokens or 0)
        assert record.cache_write_tokens == (usage.cache_creation_input_tokens or 0)
        assert record.prompt_tokens == usage.input_tokens + record.cached_tokens + record.cache_write_tokens
        assert record.completion_tokens == usage.output_tokens
