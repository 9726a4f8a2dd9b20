"""The mock upstream speaks each vendor's wire format: the real openai and anthropic SDKs read it, OpenAI's schemas accept it."""

import base64
import struct

import anthropic
import httpx2 as httpx
import openai
import orjson
import pytest

from providers import mock_anthropic, mock_responses
from tests.openapi import assert_valid

HELLO = [{"role": "user", "content": "Hello there"}]
REPLY = "Hello from Prism's mock model! You said: Hello there"
WEATHER = {"type": "function", "name": "get_weather", "description": "Weather",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}


@pytest.fixture
def client(upstream):
    with openai.OpenAI(base_url=upstream.url, api_key="sk-test", max_retries=0) as client:
        yield client


@pytest.fixture
def claude(upstream):
    with anthropic.Anthropic(base_url=upstream.url.removesuffix("/v1"), api_key="sk-ant-test", max_retries=0) as claude:
        yield claude


def raw(upstream, method, path, body=None, **headers) -> httpx.Response:
    headers = {"Authorization": "Bearer sk-test", **headers}
    return httpx.request(method, upstream.url.removesuffix("/v1") + path, json=body, headers=headers)


def sse_events(text: str) -> list[tuple[str, dict]]:
    """(event name, data) of each event of a typed stream."""
    events = []
    for block in text.strip().split("\n\n"):
        name, data = block.split("\n")
        events.append((name.removeprefix("event: "), orjson.loads(data.removeprefix("data: "))))
    return events


# Chat completions: every token class


def test_chat_usage_reports_cached_and_reasoning_tokens_inside_the_totals(client):
    answer = client.chat.completions.with_raw_response.create(model="o3-mini-cached-2", messages=HELLO)
    assert_valid("CreateChatCompletionResponse", answer.http_response.json())
    usage = answer.parse().usage
    assert (usage.prompt_tokens, usage.prompt_tokens_details.cached_tokens) == (3, 2)
    assert (usage.completion_tokens, usage.completion_tokens_details.reasoning_tokens) == (9 + 64, 64)
    assert usage.total_tokens == 3 + 73 and usage.completion_tokens_details.audio_tokens == 0


def test_the_stream_usage_chunk_has_the_details_and_cached_tokens_never_exceed_the_prompt(client):
    chunks = list(client.chat.completions.create(model="gpt-4o-reasoning-5-cached-100", messages=HELLO, stream=True,
                                                 stream_options={"include_usage": True}))
    for chunk in chunks:
        assert_valid("CreateChatCompletionStreamResponse", chunk.model_dump(exclude_unset=True))
    usage = chunks[-1].usage
    assert usage.prompt_tokens_details.cached_tokens == usage.prompt_tokens == 3
    assert (usage.completion_tokens, usage.completion_tokens_details.reasoning_tokens) == (14, 5)


def test_plain_models_report_zero_details_and_the_service_tier_served(client):
    completion = client.chat.completions.create(model="gpt-4o", messages=HELLO, service_tier="flex")
    assert completion.usage.prompt_tokens_details.cached_tokens == 0
    assert completion.usage.completion_tokens_details.model_dump() == {
        "accepted_prediction_tokens": 0, "audio_tokens": 0, "reasoning_tokens": 0, "rejected_prediction_tokens": 0,
        "text_tokens": None}
    assert completion.service_tier == "flex"
    assert client.chat.completions.create(model="gpt-4o", messages=HELLO).service_tier == "default"


def test_a_tool_result_is_answered_in_words(client):
    tool = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}
    call = client.chat.completions.create(model="gpt-4o", messages=HELLO, tools=[tool]).choices[0].message.tool_calls[0]
    messages = HELLO + [{"role": "assistant", "tool_calls": [call.model_dump()]},
                        {"role": "tool", "tool_call_id": call.id, "content": "Rain"}]
    message = client.chat.completions.create(model="gpt-4o", messages=messages, tools=[tool]).choices[0].message
    assert message.tool_calls is None and message.content == "Hello from Prism's mock model! You said: Rain"


# Responses


def test_a_response(client):
    answer = client.responses.with_raw_response.create(model="gpt-4o", input="Hello there", instructions="Be terse.")
    assert_valid("Response", answer.http_response.json())
    response = answer.parse()
    assert response.id.startswith("resp_") and response.status == "completed" and response.output_text == REPLY
    assert response.instructions == "Be terse." and response.store is True
    assert (response.usage.input_tokens, response.usage.output_tokens, response.usage.total_tokens) == (6, 9, 15)


def test_a_reasoning_model_reports_its_reasoning_and_cached_tokens(client):
    response = client.responses.create(model="o4-mini-cached-4", input=[{"role": "user", "content": [
        {"type": "input_text", "text": "Hello there"}]}], include=["reasoning.encrypted_content"], store=False,
        reasoning={"effort": "low"})
    assert_valid("Response", response.model_dump(exclude_unset=True))
    reasoning, message = response.output
    assert reasoning.type == "reasoning" and reasoning.encrypted_content and message.type == "message"
    usage = response.usage
    assert (usage.input_tokens, usage.input_tokens_details.cached_tokens) == (3, 3)
    assert (usage.output_tokens, usage.output_tokens_details.reasoning_tokens) == (9 + 64, 64)
    assert response.reasoning.effort == "low"


def test_a_response_stream_has_every_typed_event_in_order_and_no_done(upstream, client):
    with client.responses.stream(model="gpt-4o", input="Hello there") as stream:
        events = list(stream)
        final = stream.get_final_response()
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert [e.type for e in events] == [
        "response.created", "response.in_progress", "response.output_item.added", "response.content_part.added",
        *["response.output_text.delta"] * 9, "response.output_text.done", "response.content_part.done",
        "response.output_item.done", "response.completed"]
    assert final.output_text == REPLY and final.usage.output_tokens == 9
    sent = raw(upstream, "POST", "/v1/responses", {"model": "gpt-4o", "input": "Hello there", "stream": True})
    assert sent.headers["content-type"] == "text/event-stream" and "[DONE]" not in sent.text
    for name, data in sse_events(sent.text):
        assert_valid("ResponseStreamEvent", data)
        assert name == data["type"]
    assert len(sse_events(sent.text)) == len(events)


def test_a_function_call_round_trip_through_previous_response_id(client):
    with client.responses.stream(model="gpt-4o", input="Weather in Oslo?", tools=[WEATHER]) as stream:
        events = list(stream)
        first = stream.get_final_response()
    assert [e.type for e in events][2:6] == ["response.output_item.added", "response.function_call_arguments.delta",
                                             "response.function_call_arguments.done", "response.output_item.done"]
    [call] = first.output
    assert (call.type, call.name, call.status) == ("function_call", "get_weather", "completed")
    assert orjson.loads(call.arguments) == {"text": "Weather in Oslo?"}
    second = client.responses.create(model="gpt-4o", previous_response_id=first.id, tools=[WEATHER], input=[
        {"type": "function_call_output", "call_id": call.call_id, "output": "Rain"}])
    assert second.output_text == "Hello from Prism's mock model! You said: Rain"
    assert second.previous_response_id == first.id
    assert second.usage.input_tokens == 4 + 4 + 2  # the first turn's input and call (its arguments' words), the output


def test_a_custom_tool_is_called_with_free_text(client, upstream):
    tool = {"type": "custom", "name": "apply_patch", "description": "Apply a patch"}
    with client.responses.stream(model="gpt-5-codex", input="Fix it", tools=[tool]) as stream:
        events = list(stream)
    assert "response.custom_tool_call_input.done" in [e.type for e in events]
    body = {"model": "gpt-5-codex", "input": "Fix it", "tools": [tool], "stream": True}
    for _, data in sse_events(raw(upstream, "POST", "/v1/responses", body).text):
        assert_valid("ResponseStreamEvent", data)
    [call] = stream.get_final_response().output
    assert (call.type, call.name, call.input) == ("custom_tool_call", "apply_patch", "Fix it")


def test_what_a_coding_agent_sends_is_accepted(client, upstream):
    """As Codex CLI sends it: store false, include, prompt_cache_key, reasoning, custom tools, items with ids."""
    items = [
        {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "Rules"}]},
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Run ls"}]},
        {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "shell", "arguments": '{"cmd":"ls"}'},
        {"type": "function_call_output", "id": "fco_1", "call_id": "call_1", "output": "README.md"},
    ]
    body = {"model": "gpt-5-codex", "input": items, "store": False, "stream": True,
            "include": ["reasoning.encrypted_content"], "prompt_cache_key": "session-1", "parallel_tool_calls": False,
            "reasoning": {"effort": "medium", "summary": "auto"}, "tool_choice": "auto",
            "tools": [{**WEATHER, "name": "shell", "strict": False}, {"type": "custom", "name": "apply_patch"}]}
    events = sse_events(raw(upstream, "POST", "/v1/responses", body).text)
    final = events[-1][1]["response"]
    assert_valid("Response", final)
    assert final["output"][0]["content"][0]["text"] == "Hello from Prism's mock model! You said: README.md"
    assert (final["store"], final["prompt_cache_key"], final["parallel_tool_calls"]) == (False, "session-1", False)
    assert orjson.loads(upstream.received[-1][1]) == body
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(final["id"])


def test_stored_responses_are_retrieved_listed_and_deleted(client, upstream):
    response = client.responses.create(model="gpt-4o", input=[{"role": "user", "content": "First"},
                                                                {"role": "assistant", "content": "Yes"},
                                                                {"role": "user", "content": "Second"}])
    assert client.responses.retrieve(response.id).output_text == response.output_text
    listed = raw(upstream, "GET", f"/v1/responses/{response.id}/input_items").json()
    assert_valid("ResponseItemList", listed)
    assert [item["content"][0]["text"] for item in listed["data"]] == ["Second", "Yes", "First"]
    page = client.responses.input_items.list(response.id, order="asc", limit=2)
    assert [item.content[0].text for item in page.data] == ["First", "Yes"] and page.has_more
    deleted = raw(upstream, "DELETE", f"/v1/responses/{response.id}").json()
    assert deleted == {"id": response.id, "object": "response.deleted", "deleted": True}
    with pytest.raises(openai.NotFoundError) as missing:
        client.responses.retrieve(response.id)
    assert missing.value.body["message"] == f"Response with id '{response.id}' not found."


def test_an_unknown_previous_response_is_refused_as_openai_refuses_it(client):
    with pytest.raises(openai.BadRequestError) as refused:
        client.responses.create(model="gpt-4o", input="Hi", previous_response_id="resp_unknown")
    assert refused.value.code == "previous_response_not_found" and refused.value.param == "previous_response_id"
    unstored = client.responses.create(model="gpt-4o", input="Hi", store=False)
    with pytest.raises(openai.BadRequestError):
        client.responses.create(model="gpt-4o", input="Hi", previous_response_id=unstored.id)


def test_only_a_background_response_can_be_cancelled(client):
    queued = client.responses.create(model="gpt-4o", input="Hi", background=True)
    assert (queued.status, queued.output, queued.usage) == ("queued", [], None)
    assert_valid("Response", queued.model_dump(exclude_unset=True))
    cancelled = client.responses.cancel(queued.id)
    assert_valid("Response", cancelled.model_dump(exclude_unset=True))
    assert cancelled.status == "cancelled" and client.responses.retrieve(queued.id).status == "cancelled"
    finished = client.responses.create(model="gpt-4o", input="Hi", background=True)
    assert client.responses.retrieve(finished.id).status == "completed"
    with pytest.raises(openai.BadRequestError):
        client.responses.cancel(client.responses.create(model="gpt-4o", input="Hi").id)


def test_max_output_tokens_leaves_the_response_incomplete(client):
    with client.responses.stream(model="gpt-4o", input="Hi", max_output_tokens=3) as stream:
        events = list(stream)
    assert events[-1].type == "response.incomplete"
    response = events[-1].response
    assert response.incomplete_details.reason == "max_output_tokens" and response.output_text == "Hello from Prism's "


def test_faults_reach_the_responses_api(client, upstream):
    with pytest.raises(openai.RateLimitError):
        client.responses.create(model="gpt-4o-fault-429", input="Hi")
    received = b""
    body = {"model": "gpt-4o-fault-cut", "input": "Hi", "stream": True}
    with httpx.stream("POST", f"{upstream.url}/responses", json=body, headers={"Authorization": "Bearer k"}) as cut:
        with pytest.raises(httpx.RemoteProtocolError):
            for chunk in cut.iter_bytes():
                received += chunk
    assert b"response.created" in received and b"response.completed" not in received


@pytest.mark.parametrize("path", ["/openai/v1/responses", "/openai/responses?api-version=preview"])
def test_responses_on_azure_paths(upstream, path):
    answer = httpx.post(upstream.url.removesuffix("/v1") + path, json={"model": "my-deployment", "input": "Hello there"},
                        headers={"api-key": "azure-key"})
    assert answer.json()["output"][0]["content"][0]["text"] == REPLY
    assert upstream.paths[-1] == path


# Embeddings


def test_embeddings_as_floats_and_as_base64_are_the_same_float32_vectors(client, upstream):
    floats = client.embeddings.with_raw_response.create(model="text-embedding-3-small", input=["a b", "c"],
                                                        encoding_format="float")
    assert_valid("CreateEmbeddingResponse", floats.http_response.json())
    encoded = raw(upstream, "POST", "/v1/embeddings", {"model": "text-embedding-3-small", "input": ["a b", "c"],
                                                       "encoding_format": "base64"}).json()
    vector = floats.parse().data[0].embedding
    assert len(vector) == 1536 and abs(sum(v * v for v in vector) - 1) < 1e-5
    assert list(struct.unpack("<1536f", base64.b64decode(encoded["data"][0]["embedding"]))) == vector
    assert client.embeddings.create(model="text-embedding-3-small", input=["a b", "c"]).data[0].embedding == vector
    assert floats.parse().usage.prompt_tokens == floats.parse().usage.total_tokens == 3


def test_embeddings_of_token_arrays_with_dimensions(client):
    answer = client.embeddings.create(model="text-embedding-3-large", input=[[1, 2, 3], [4]], dimensions=8)
    assert [len(e.embedding) for e in answer.data] == [8, 8] and answer.usage.prompt_tokens == 4
    assert len(client.embeddings.create(model="text-embedding-3-large", input=[5, 6]).data[0].embedding) == 3072
    with pytest.raises(openai.BadRequestError) as refused:
        client.embeddings.create(model="text-embedding-ada-002", input="x", dimensions=8)
    assert refused.value.param == "dimensions"
    with pytest.raises(openai.BadRequestError) as refused:
        client.embeddings.create(model="text-embedding-3-small", input=[])
    assert refused.value.param == "input"


# Legacy completions


def test_a_legacy_completion(client):
    answer = client.completions.with_raw_response.create(model="gpt-3.5-turbo-instruct", prompt=["Say hi", "Go"], n=2,
                                                          echo=True, logprobs=2, stop=["mock"])
    assert_valid("CreateCompletionResponse", answer.http_response.json())
    completion = answer.parse()
    assert [c.index for c in completion.choices] == [0, 1, 2, 3]
    first = completion.choices[0]
    assert (first.text, first.finish_reason) == ("Say hiHello from Prism's ", "stop")
    assert first.logprobs.tokens == ["Hello ", "from ", "Prism's "] and first.logprobs.text_offset[0] == 6
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (3, 12)


def test_a_legacy_completion_stream_ends_with_usage_then_done(client, upstream):
    chunks = list(client.completions.create(model="gpt-3.5-turbo-instruct", prompt="Say hi", stream=True, max_tokens=4,
                                            stream_options={"include_usage": True}))
    for chunk in chunks:
        assert_valid("CreateCompletionResponse", _as_its_schema_allows(chunk.model_dump(exclude_unset=True)))
    assert chunks[0].choices[0].finish_reason is None and chunks[0].usage is None
    assert "".join(c.choices[0].text for c in chunks if c.choices) == "Hello from Prism's mock "
    assert chunks[-2].choices[0].finish_reason == "length" and chunks[-1].usage.completion_tokens == 4
    sent = raw(upstream, "POST", "/v1/completions", {"model": "gpt-3.5-turbo-instruct", "prompt": "Hi", "stream": True})
    assert sent.text.endswith("data: [DONE]\n\n") and '"usage"' not in sent.text


def _as_its_schema_allows(chunk: dict) -> dict:
    """A legacy stream chunk without the nulls OpenAI streams but its schema, written for whole answers, refuses:
    `usage` before the last chunk, and `finish_reason` before a choice's last."""
    choices = [{**choice, "finish_reason": choice["finish_reason"] or "stop"} for choice in chunk["choices"]]
    return {**{key: value for key, value in chunk.items() if value is not None}, "choices": choices}


@pytest.mark.parametrize("path, kind", [
    ("/openai/deployments/my-deployment/completions?api-version=2024-10-21", "text_completion"),
    ("/openai/deployments/my-deployment/embeddings?api-version=2024-10-21", "list"),
    ("/openai/v1/chat/completions", "chat.completion"),
    ("/openai/v1/embeddings", "list"),
])
def test_azure_paths_answer_completions_and_embeddings(upstream, path, kind):
    answer = httpx.post(upstream.url.removesuffix("/v1") + path, headers={"api-key": "azure-key"},
                        json={"model": "my-deployment", "prompt": "Hi", "input": "Hi", "messages": HELLO})
    assert answer.status_code == 200 and answer.json()["object"] == kind


# Moderations


def test_moderations_flag_by_words(client):
    answer = client.moderations.with_raw_response.create(input=["I will kill it", "Nice day"])
    assert_valid("CreateModerationResponse", answer.http_response.json())
    flagged, fine = answer.parse().results
    assert flagged.flagged and flagged.categories.violence and flagged.category_scores.violence > 0.9
    assert not fine.flagged and fine.category_applied_input_types.violence == ["text"]


def test_a_multimodal_input_is_one_result(client):
    moderation = client.moderations.create(model="omni-moderation-latest", input=[
        {"type": "text", "text": "a murder"}, {"type": "image_url", "image_url": {"url": "https://x/cat.png"}}])
    [result] = moderation.results
    assert result.categories.violence and result.category_applied_input_types.violence == ["text", "image"]
    assert result.category_applied_input_types.illicit == ["text"] and moderation.model == "omni-moderation-latest"


# Anthropic Messages


def cached_system(name: str, ttl: str | None = None) -> list[dict]:
    control = {"type": "ephemeral", **({"ttl": ttl} if ttl else {})}
    return [{"type": "text", "text": f"You are the {name} agent, with four rules", "cache_control": control}]


def test_a_cached_prefix_is_written_once_then_read(claude, upstream):
    kwargs = {"model": "claude-haiku-4-5", "max_tokens": 100, "system": cached_system("caching", "1h"),
              "messages": [{"role": "user", "content": [{"type": "text", "text": "Hello there",
                                                         "cache_control": {"type": "ephemeral"}}]},
                           {"role": "assistant", "content": "Hi"}, {"role": "user", "content": "Once more"}]}
    first = claude.messages.create(**kwargs).usage
    assert (first.cache_creation.ephemeral_1h_input_tokens, first.cache_creation.ephemeral_5m_input_tokens) == (9, 3)
    assert (first.cache_creation_input_tokens, first.cache_read_input_tokens, first.input_tokens) == (12, 0, 2 + 3)
    second = claude.messages.create(**kwargs).usage
    assert (second.cache_creation_input_tokens, second.cache_read_input_tokens, second.input_tokens) == (0, 12, 5)
    assert claude.messages.count_tokens(**{k: v for k, v in kwargs.items() if k != "max_tokens"}).input_tokens == 17
    assert orjson.loads(upstream.received[-2][1])["system"][0]["cache_control"] == {"type": "ephemeral", "ttl": "1h"}


def test_a_changed_message_after_the_cached_system_reads_the_system_and_writes_the_rest(claude):
    def usage(text):
        return claude.messages.create(model="claude-haiku-4-5", max_tokens=50, system=cached_system("prefix"),
                                      messages=[{"role": "user", "content": [
                                          {"type": "text", "text": text, "cache_control": {"type": "ephemeral"}}]}]).usage

    usage("Hello there")
    changed = usage("Something else now")
    assert (changed.cache_read_input_tokens, changed.cache_creation_input_tokens) == (9, 4)


def test_a_stream_with_thinking_in_anthropics_event_order(claude, upstream):
    with claude.beta.messages.stream(model="claude-haiku-4-5", max_tokens=2048, messages=HELLO,
                                     thinking={"type": "enabled", "budget_tokens": 1024},
                                     betas=["interleaved-thinking-2025-05-14"]) as stream:
        events = [event.type for event in stream if event.type in (
            "message_start", "content_block_start", "content_block_delta", "content_block_stop", "message_delta",
            "message_stop")]
        message = stream.get_final_message()
    headers = upstream.received[-1][0]
    assert headers["anthropic-beta"] == "interleaved-thinking-2025-05-14" and headers["anthropic-version"]
    thinking, text = message.content
    assert thinking.type == "thinking" and thinking.signature and text.text == REPLY
    assert message.usage.output_tokens == 9 + len(thinking.thinking.split())
    thinking_events = 2 + len(thinking.thinking.split()) + 1  # start, deltas, signature, stop
    assert events == ["message_start", "content_block_start", *["content_block_delta"] * (thinking_events - 2),
                      "content_block_stop", "content_block_start", *["content_block_delta"] * 9, "content_block_stop",
                      "message_delta", "message_stop"]


def test_the_raw_stream_pings_and_reports_usage_in_start_and_delta(upstream):
    body = {"model": "claude-haiku-4-5", "max_tokens": 50, "stream": True, "messages": HELLO,
            "system": cached_system("raw stream")}
    sent = raw(upstream, "POST", "/v1/messages?beta=true", body, **{"anthropic-version": "2023-06-01"})
    assert upstream.paths[-1] == "/v1/messages?beta=true"
    events = sse_events(sent.text)
    assert [name for name, _ in events][:2] == ["message_start", "ping"]
    assert all(name == data["type"] for name, data in events)
    start, delta = events[0][1]["message"]["usage"], events[-2][1]["usage"]
    assert start["cache_creation"] == {"ephemeral_5m_input_tokens": 10, "ephemeral_1h_input_tokens": 0}
    assert delta == {"input_tokens": 3, "cache_creation_input_tokens": 10, "cache_read_input_tokens": 0,
                     "output_tokens": 9}


def test_a_tool_use_streams_its_input_as_json_deltas_and_its_result_is_answered(claude):
    tools = [{"name": "get_weather", "description": "Weather", "input_schema": {"type": "object"}, "defer_loading": True}]
    with claude.messages.stream(model="claude-haiku-4-5", max_tokens=100, messages=HELLO, tools=tools) as stream:
        deltas = [e.delta.type for e in stream if e.type == "content_block_delta"]
        message = stream.get_final_message()
    [call] = message.content
    assert deltas == ["input_json_delta"] * 3 and message.stop_reason == "tool_use"
    assert (call.name, call.input) == ("get_weather", {"text": "Hello there"})
    answer = claude.messages.create(model="claude-haiku-4-5", max_tokens=100, tools=tools, messages=HELLO + [
        {"role": "assistant", "content": [call.model_dump(exclude_none=True)]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "Rain"}]}])
    assert answer.stop_reason == "end_turn" and answer.content[0].text == "Hello from Prism's mock model! You said: Rain"


def test_stop_sequences_and_system_messages(claude):
    message = claude.messages.create(model="claude-haiku-4-5", max_tokens=100, stop_sequences=["mock"],
                                     system="Be terse.", messages=[{"role": "system", "content": "Really."}, *HELLO])
    assert (message.stop_reason, message.stop_sequence) == ("stop_sequence", "mock")
    assert message.content[0].text == "Hello from Prism's " and message.usage.input_tokens == 3 + 2 + 3


def test_adaptive_thinking_can_omit_its_text(claude):
    message = claude.messages.create(model="claude-opus-4-1", max_tokens=100, messages=HELLO,
                                     thinking={"type": "adaptive", "display": "omitted"})
    assert message.content[0].thinking == "" and message.content[0].signature
    assert message.usage.output_tokens_details.thinking_tokens > 0


def test_anthropic_errors_in_anthropics_shape(claude, upstream):
    with pytest.raises(anthropic.OverloadedError):
        claude.messages.create(model="claude-haiku-4-5-fault-529", max_tokens=10, messages=HELLO)
    with pytest.raises(anthropic.RateLimitError):
        claude.messages.create(model="claude-haiku-4-5-fault-429", max_tokens=10, messages=HELLO)
    missing = httpx.post(f"{upstream.url}/messages", json={"model": "claude-haiku-4-5", "messages": HELLO},
                         headers={"x-api-key": "k"})
    assert missing.status_code == 400 and missing.headers["request-id"] == missing.json()["request_id"]
    assert missing.json()["error"] == {"type": "invalid_request_error", "message": "max_tokens: Field required"}
    malformed = httpx.post(f"{upstream.url}/messages", content=b"{not json", headers={"x-api-key": "k"})
    assert malformed.status_code == 400 and malformed.json()["error"]["type"] == "invalid_request_error"
    anonymous = httpx.post(f"{upstream.url}/messages", json={"model": "claude-haiku-4-5"})
    assert anonymous.status_code == 401 and anonymous.json()["error"]["type"] == "authentication_error"


def test_models_are_listed_in_the_shape_of_whoever_asks(claude, client):
    models = claude.models.list(limit=2)
    assert [m.id for m in models.data] == ["claude-haiku-4-5", "claude-sonnet-4-5"] and models.has_more
    assert models.data[0].display_name == "Claude Haiku 4.5" and models.last_id == "claude-sonnet-4-5"
    assert client.models.list().object == "list"


# The builders, which Prism's in-process mock provider reuses


def test_the_builders_answer_the_same_request_the_same_way():
    request = {"model": "o3-cached-2", "input": "Hello there", "tools": [WEATHER]}
    first = mock_responses.response(request, response_id="resp_1", created_at=1)
    assert first == mock_responses.response(request, response_id="resp_1", created_at=1)
    assert mock_responses.events(first) == mock_responses.events(first)
    message = {"model": "claude-haiku-4-5", "max_tokens": 10, "messages": HELLO}
    assert (mock_anthropic.message(message, message_id="msg_1", cache=mock_anthropic.PromptCache())
            == mock_anthropic.message(message, message_id="msg_1", cache=mock_anthropic.PromptCache()))
