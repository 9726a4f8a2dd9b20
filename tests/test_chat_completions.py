"""The chat endpoint driven by the real openai SDK through a real server, against the real mock upstream."""

import json

import httpx2 as httpx
import orjson
import pytest
from asgiref.sync import sync_to_async

from tests.conftest import usage_records
from tests.openapi import assert_valid

HELLO = [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Hello there"}]
WEATHER_TOOL = {
    "type": "function",
    "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}},
}


def raw_completion(response) -> dict:
    data = response.model_dump(exclude_unset=True)
    assert_valid("CreateChatCompletionResponse", data)
    return data


def test_a_completion_through_prism_is_what_the_upstream_answered(openai_client, upstream):
    response = openai_client.chat.completions.with_raw_response.create(model="gpt-4", messages=HELLO)
    completion = response.parse()
    assert_valid("CreateChatCompletionResponse", json.loads(response.text))
    assert completion.choices[0].message.content == "Hello from Prism's mock model! You said: Hello there"
    assert response.headers["x-request-id"].startswith("req_mock_")
    assert response.headers["x-ratelimit-limit-requests"] == "10000"
    [record] = usage_records(1)
    assert (record.prompt_tokens, record.completion_tokens, record.total_tokens) == (7, 9, 16)  # words + 1 per message; the reply has 9 words
    assert (record.requested_model, record.served_model, record.provider) == ("gpt-4", "gpt-4", "openai_provider")
    assert record.status_code == 200 and not record.is_stream and record.request_id == response.headers["x-prism-request-id"]


def test_the_upstream_receives_exactly_the_json_the_client_sent(prism_url, api_key, upstream, transactional_db):
    body = b'{"model":"gpt-4o",  "messages":[{"role":"user","content":"caf\\u00e9"}],"x_new_param":{"deep":[1,2.50,1e400]}}'
    headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}
    assert httpx.post(f"{prism_url}/v1/chat/completions", content=body, headers=headers).status_code == 200
    assert upstream.received[-1][1] == body
    usage_records(1)


def test_every_parameter_reaches_the_upstream_untouched(openai_client, upstream):
    params = dict(
        model="gpt-4", messages=HELLO, temperature=0.2, max_tokens=50, top_p=0.9, n=1, stop=["\n"],
        presence_penalty=0.1, frequency_penalty=0.2, logit_bias={"50256": -100}, seed=7, user="u-1",
        response_format={"type": "text"}, max_completion_tokens=40, parallel_tool_calls=False,
        tools=[WEATHER_TOOL], tool_choice="none", extra_body={"a_parameter_from_next_year": {"x": [1, None]}},
    )
    openai_client.chat.completions.create(**params)
    sent = orjson.loads(upstream.received[-1][1])
    expected = {k: v for k, v in params.items() if k != "extra_body"} | params["extra_body"]
    assert sent == expected
    usage_records(1)


def test_n_choices(openai_client):
    completion = openai_client.chat.completions.create(model="gpt-3.5-turbo", messages=HELLO, n=2)
    assert [choice.index for choice in completion.choices] == [0, 1]
    raw_completion(completion)
    assert usage_records(1)[0].completion_tokens == 18


def test_tools_and_legacy_functions(openai_client):
    tools = openai_client.chat.completions.create(model="gpt-4", messages=HELLO, tools=[WEATHER_TOOL])
    assert tools.choices[0].finish_reason == "tool_calls"
    assert tools.choices[0].message.tool_calls[0].function.name == "get_weather"
    functions = openai_client.chat.completions.create(
        model="gpt-4", messages=HELLO, functions=[WEATHER_TOOL["function"]], function_call="auto"
    )
    assert functions.choices[0].message.function_call.name == "get_weather"
    for completion in (tools, functions):
        raw_completion(completion)
    usage_records(2)


def test_logprobs_stop_and_max_tokens(openai_client):
    logprobs = openai_client.chat.completions.create(model="gpt-4", messages=HELLO, logprobs=True, top_logprobs=2)
    assert len(logprobs.choices[0].logprobs.content[0].top_logprobs) == 2
    stopped = openai_client.chat.completions.create(model="gpt-4", messages=HELLO, stop=["mock"])
    assert stopped.choices[0].message.content == "Hello from Prism's "
    cut = openai_client.chat.completions.create(model="gpt-4", messages=HELLO, max_tokens=2)
    assert cut.choices[0].finish_reason == "length"
    for completion in (logprobs, stopped, cut):
        raw_completion(completion)
    assert [r.completion_tokens for r in usage_records(3)] == [9, 3, 2]


def test_a_stream_without_usage_asked_hides_it_but_counts_it(openai_client, upstream):
    raw = openai_client.chat.completions.with_raw_response.create(model="gpt-4", messages=HELLO, stream=True)
    assert raw.headers["content-type"].startswith("text/event-stream")
    chunks = list(raw.parse())
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "Hello from Prism's mock model! You said: Hello there"
    for chunk in chunks:
        data = chunk.model_dump(exclude_unset=True)
        assert "usage" not in data and data["choices"]
        assert_valid("CreateChatCompletionStreamResponse", data)
    assert orjson.loads(upstream.received[-1][1])["stream_options"] == {"include_usage": True}
    [record] = usage_records(1)
    assert (record.total_tokens, record.is_stream) == (16, True)
    assert record.ttft_ms is not None and record.ttft_ms <= record.latency_ms


def test_a_stream_with_usage_asked_shows_it(openai_client):
    stream = openai_client.chat.completions.create(
        model="gpt-4", messages=HELLO, stream=True, stream_options={"include_usage": True}, n=2
    )
    chunks = [chunk.model_dump(exclude_unset=True) for chunk in stream]
    for chunk in chunks:
        assert_valid("CreateChatCompletionStreamResponse", chunk)
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] == 18
    assert usage_records(1)[0].completion_tokens == 18


def test_raw_sse_bytes_end_with_done(prism_url, api_key, transactional_db):
    body = {"model": "gpt-4", "messages": HELLO, "stream": True, "tools": [WEATHER_TOOL]}
    with httpx.stream("POST", f"{prism_url}/v1/chat/completions", json=body,
                      headers={"Authorization": f"Bearer {api_key}"}) as response:
        text = response.read().decode()
    events = [event for event in text.split("\n\n") if event]
    assert events[-1] == "data: [DONE]"
    for event in events[:-1]:
        assert_valid("CreateChatCompletionStreamResponse", json.loads(event.removeprefix("data: ")))
    usage_records(1)


async def test_the_async_client_streams_and_completes(async_openai_client):
    completion = await async_openai_client.chat.completions.create(model="gpt-4", messages=HELLO)
    raw_completion(completion)
    stream = await async_openai_client.chat.completions.create(model="mock-1", messages=HELLO, stream=True)
    text = "".join([chunk.choices[0].delta.content or "" async for chunk in stream])
    assert text == completion.choices[0].message.content
    records = await sync_to_async(usage_records, thread_sensitive=False)(2)
    assert {(r.provider, r.total_tokens) for r in records} == {("openai_provider", 16), ("mock_provider", 16)}


@pytest.mark.parametrize("stream", [False, True])
def test_the_mock_provider_answers_without_network(openai_client, stream):
    response = openai_client.chat.completions.create(model="mock-1", messages=HELLO, stream=stream)
    if stream:
        assert [c.choices[0].finish_reason for c in response][-1] == "stop"
    else:
        raw_completion(response)
    assert usage_records(1)[0].provider == "mock_provider"
