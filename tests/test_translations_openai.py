"""The Responses API and legacy completions translated to chat completions and back, checked against OpenAI's
schemas and read by the openai SDK itself (its requests, its types, its stream helper)."""

import json

import httpx2
import openai
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from openai.lib.streaming.responses._responses import ResponseStreamState
from openai.types import Completion
from openai.types.responses import Response, ResponseStreamEvent
from openai.types.responses.response_create_params import ResponseCreateParams
from pydantic import TypeAdapter

from gateway.errors import InvalidRequest
from gateway.translations import completions, responses
from providers import mock_answers
from providers.anthropic_translation import StreamTranslator
from tests.openapi import assert_valid

STREAM_EVENT = TypeAdapter(ResponseStreamEvent)
# The SDK's own request types: OpenAI's schema cannot judge a request (an input message matches two of a oneOf).
SDK_REQUEST = TypeAdapter(ResponseCreateParams)
SHELL_TOOL = {"type": "function", "name": "shell", "description": "Runs a shell command and returns its output.",
              "strict": False, "parameters": {"type": "object", "properties": {
                  "command": {"type": "array", "items": {"type": "string"}}, "workdir": {"type": "string"}},
                  "required": ["command"], "additionalProperties": False}}
WEATHER_TOOL = {"type": "function", "name": "get_weather", "description": "The weather in a city.", "strict": True,
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
                               "additionalProperties": False}}
# What Codex CLI sends on its second turn: a developer message, the user's, its own reasoning (encrypted), a shell
# call and its output, then the user again; with store false and the options only OpenAI's models use.
CODEX_REQUEST = {
    "model": "gpt-5-codex", "instructions": "You are Codex, a coding agent.",
    "input": [
        {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "<permissions>"}]},
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "list the files"}]},
        {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "gAAAA..."},
        {"type": "function_call", "id": "fc_1", "name": "shell", "arguments": "{\"command\":[\"ls\"]}",
         "call_id": "call_1"},
        {"type": "function_call_output", "call_id": "call_1", "output": "README.md\nsetup.py"},
        {"type": "message", "role": "assistant", "id": "msg_1", "status": "completed",
         "content": [{"type": "output_text", "text": "Two files.", "annotations": []}]},
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "thanks"}]},
    ],
    "tools": [SHELL_TOOL], "tool_choice": "auto", "parallel_tool_calls": False,
    "reasoning": {"effort": "medium", "summary": "auto"}, "store": False, "stream": True,
    "include": ["reasoning.encrypted_content"], "prompt_cache_key": "0199a7c2-thread", "text": {"verbosity": "low"},
}
# What OpenAI's Agents SDK sends after a tool ran: easy messages, the call and its output, strict tools.
AGENTS_REQUEST = {
    "model": "gpt-4.1", "instructions": "You answer questions about the weather.",
    "input": [{"content": "Weather in Paris?", "role": "user"},
              {"arguments": "{\"city\":\"Paris\"}", "call_id": "call_w", "name": "get_weather",
               "type": "function_call", "id": "fc_w", "status": "completed"},
              {"call_id": "call_w", "output": "Sunny, 21C", "type": "function_call_output"}],
    "tools": [WEATHER_TOOL], "include": [], "stream": False, "temperature": 0.2, "top_p": 0.9,
    "max_output_tokens": 500, "tool_choice": "none", "truncation": "disabled", "metadata": {"run": "7"},
}


def mock_chat(chat: dict) -> dict:
    """The mock provider's whole answer to a chat request."""
    return mock_answers.completion(chat, completion_id="chatcmpl-abc123", created=1_790_000_000)


def mock_chunks(chat: dict) -> list[dict]:
    """The mock provider's stream for a chat request, as parsed chunks."""
    return list(mock_answers.chunks(chat, completion_id="chatcmpl-abc123", created=1_790_000_000))


def anthropic_chunks(*events: dict) -> list[dict]:
    """The chat chunks Prism's Anthropic provider makes of Anthropic stream events."""
    translator = StreamTranslator(include_usage=True)
    return [chunk for event in events for chunk in translator.chunks(event)]


def anthropic_tool_use(index: int, call_id: str, name: str, *json_parts: str) -> list[dict]:
    """Anthropic's stream events for one tool_use block whose input arrives in `json_parts`."""
    deltas = [{"type": "input_json_delta", "partial_json": part} for part in json_parts]
    return [{"type": "content_block_start", "index": index,
             "content_block": {"type": "tool_use", "id": call_id, "name": name, "input": {}}},
            *({"type": "content_block_delta", "index": index, "delta": delta} for delta in deltas),
            {"type": "content_block_stop", "index": index}]


def sse_events(stream: bytes) -> list[dict]:
    """The Responses events of an SSE byte stream, each checked: its `event:` line names its type."""
    events = []
    for block in stream.decode().split("\n\n")[:-1]:
        kind, data = block.split("\n")
        event = json.loads(data.removeprefix("data: "))
        assert kind == f"event: {event['type']}"
        events.append(event)
    return events


def responses_stream(request: dict, chunks: list[dict]) -> list[dict]:
    """Translate a chat stream and check every event: OpenAI's schema, the SDK's types, increasing numbers."""
    translator = responses.ChatStreamToResponses(request)
    events = sse_events(b"".join(translator.feed(chunk) for chunk in chunks) + translator.finish())
    state = ResponseStreamState(input_tools=request.get("tools", []), text_format=openai.omit)
    for number, event in enumerate(events):
        assert event["sequence_number"] == number
        assert_valid("ResponseStreamEvent", event)
        state.handle_event(STREAM_EVENT.validate_python(event))
    return events


def types_of(events: list[dict]) -> list[str]:
    return [event["type"] for event in events]


def translating_client() -> openai.OpenAI:
    """An openai SDK client whose every request is translated to chat, answered by the mock, and translated back."""

    def handle(request: httpx2.Request) -> httpx2.Response:
        data = json.loads(request.content)
        translation = responses if request.url.path.endswith("/responses") else completions
        try:
            chat = translation.request_to_chat(data)
        except InvalidRequest as error:
            return httpx2.Response(error.status_code, content=error.body())
        if chat.get("stream"):
            if translation is responses:
                translator = responses.ChatStreamToResponses(data)
            else:
                translator = completions.ChatStreamToCompletions(
                    include_usage=bool((data.get("stream_options") or {}).get("include_usage")))
            body = b"".join(translator.feed(chunk) for chunk in mock_chunks(chat)) + translator.finish()
            return httpx2.Response(200, content=body, headers={"content-type": "text/event-stream"})
        chat_answer = mock_chat(chat)
        if translation is responses:
            body = responses.chat_to_response(chat_answer, request=data)
            assert_valid("Response", body)
        else:
            body = completions.chat_to_completion(chat_answer)
            assert_valid("CreateCompletionResponse", body)
        return httpx2.Response(200, json=body)

    return openai.OpenAI(api_key="prism-test", base_url="http://prism.invalid/v1", max_retries=0,
                         http_client=httpx2.Client(transport=httpx2.MockTransport(handle)))


# Responses requests


def test_a_string_input_with_instructions_becomes_a_system_and_a_user_message():
    chat = responses.request_to_chat({"model": "mock-1", "input": "Say hi", "instructions": "Be brief.",
                                      "max_output_tokens": 50, "temperature": 0.5, "user": "u-1"})
    assert chat == {"model": "mock-1", "temperature": 0.5, "user": "u-1", "max_completion_tokens": 50,
                    "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Say hi"}]}
    assert_valid("CreateChatCompletionRequest", chat)


def test_codex_turn_keeps_the_conversation_and_drops_only_reasoning_items():
    SDK_REQUEST.validate_python(CODEX_REQUEST)
    chat = responses.request_to_chat(CODEX_REQUEST)
    assert_valid("CreateChatCompletionRequest", chat)
    assert chat["messages"] == [
        {"role": "system", "content": "You are Codex, a coding agent."},
        {"role": "developer", "content": [{"type": "text", "text": "<permissions>"}]},
        {"role": "user", "content": [{"type": "text", "text": "list the files"}]},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function",
             "function": {"name": "shell", "arguments": "{\"command\":[\"ls\"]}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "README.md\nsetup.py"},
        {"role": "assistant", "content": [{"type": "text", "text": "Two files."}]},
        {"role": "user", "content": [{"type": "text", "text": "thanks"}]},
    ]
    assert chat["tools"] == [{"type": "function", "function": {
        "name": "shell", "description": SHELL_TOOL["description"], "parameters": SHELL_TOOL["parameters"],
        "strict": False}}]
    assert (chat["tool_choice"], chat["parallel_tool_calls"], chat["reasoning_effort"]) == ("auto", False, "medium")
    assert (chat["verbosity"], chat["prompt_cache_key"]) == ("low", "0199a7c2-thread")
    assert chat["stream"] is True and chat["stream_options"] == {"include_usage": True}
    assert not {"store", "include", "reasoning", "text", "input", "instructions"} & chat.keys()


def test_agents_sdk_tool_result_turn():
    SDK_REQUEST.validate_python(AGENTS_REQUEST)
    chat = responses.request_to_chat(AGENTS_REQUEST)
    assert_valid("CreateChatCompletionRequest", chat)
    assert [m["role"] for m in chat["messages"]] == ["system", "user", "assistant", "tool"]
    assert chat["messages"][2]["tool_calls"][0]["id"] == "call_w"
    assert chat["messages"][3] == {"role": "tool", "tool_call_id": "call_w", "content": "Sunny, 21C"}
    assert (chat["tool_choice"], chat["max_completion_tokens"], chat["metadata"]) == ("none", 500, {"run": "7"})
    assert "stream" not in chat


def test_consecutive_function_calls_join_the_assistant_message_before_them():
    calls = [{"type": "function_call", "call_id": f"call_{city}", "name": "get_weather",
              "arguments": json.dumps({"city": city})} for city in ("Paris", "Oslo")]
    chat = responses.request_to_chat({"model": "m", "input": [
        {"role": "user", "content": "Paris and Oslo?"},
        {"role": "assistant", "content": "Checking both."}, *calls,
        *({"type": "function_call_output", "call_id": c["call_id"], "output": "Rain"} for c in calls)]})
    assert_valid("CreateChatCompletionRequest", chat)
    assistant = chat["messages"][1]
    assert assistant["content"] == "Checking both."
    assert [call["id"] for call in assistant["tool_calls"]] == ["call_Paris", "call_Oslo"]
    assert [m["role"] for m in chat["messages"]] == ["user", "assistant", "tool", "tool"]


def test_images_files_and_structured_output():
    chat = responses.request_to_chat({
        "model": "m",
        "input": [{"role": "user", "content": [
            {"type": "input_text", "text": "What is this?"},
            {"type": "input_image", "image_url": "data:image/png;base64,iVBORw0KGgo=", "detail": "low"},
            {"type": "input_file", "filename": "a.pdf", "file_data": "data:application/pdf;base64,JVBERi0="}]}],
        "text": {"format": {"type": "json_schema", "name": "answer", "strict": True,
                            "schema": {"type": "object", "properties": {"kind": {"type": "string"}}}}},
    })
    assert_valid("CreateChatCompletionRequest", chat)
    assert chat["messages"][0]["content"][1:] == [
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo=", "detail": "low"}},
        {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBERi0=", "filename": "a.pdf"}}]
    assert chat["response_format"] == {"type": "json_schema", "json_schema": {
        "name": "answer", "schema": {"type": "object", "properties": {"kind": {"type": "string"}}}, "strict": True}}
    json_mode = responses.request_to_chat({"model": "m", "input": "x", "text": {"format": {"type": "json_object"}}})
    assert json_mode["response_format"] == {"type": "json_object"}
    assert "response_format" not in responses.request_to_chat({"model": "m", "input": "x",
                                                               "text": {"format": {"type": "text"}}})


def test_a_named_function_tool_choice():
    chat = responses.request_to_chat({"model": "m", "input": "x", "tools": [WEATHER_TOOL],
                                      "tool_choice": {"type": "function", "name": "get_weather"}})
    assert chat["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}


@pytest.mark.parametrize("store", [False, None])
def test_store_false_or_absent_is_fine(store):
    body = {"model": "m", "input": "x"} | ({} if store is None else {"store": store})
    assert "store" not in responses.request_to_chat(body)


@pytest.mark.parametrize("extra, param", [
    ({"previous_response_id": "resp_1"}, "previous_response_id"),
    ({"store": True}, "store"),
    ({"conversation": "conv_1"}, "conversation"),
    ({"background": True}, "background"),
    ({"prompt": {"id": "pmpt_1"}}, "prompt"),
    ({"tools": [WEATHER_TOOL, {"type": "web_search"}]}, "tools[1].type"),
    ({"tools": [{"type": "file_search", "vector_store_ids": ["vs_1"]}]}, "tools[0].type"),
    ({"tools": [{"type": "code_interpreter", "container": {"type": "auto"}}]}, "tools[0].type"),
    ({"tools": [{"type": "mcp", "server_label": "x", "server_url": "https://x"}]}, "tools[0].type"),
    ({"tools": [{"type": "custom", "name": "apply_patch", "format": {"type": "grammar", "syntax": "lark",
                                                                     "definition": "start: x"}}]}, "tools[0].type"),
    ({"tools": [{"type": "local_shell"}]}, "tools[0].type"),
    ({"tool_choice": {"type": "web_search_preview"}}, "tool_choice"),
    ({"input": [{"type": "item_reference", "id": "msg_1"}]}, "input[0].type"),
    ({"input": [{"type": "computer_call_output", "call_id": "c", "output": {}}]}, "input[0].type"),
    ({"input": [{"role": "user", "content": [{"type": "input_image", "file_id": "file_1"}]}]}, "input[0].content[0]"),
    ({"input": [{"role": "user", "content": [{"type": "input_file", "file_url": "https://x/a.pdf"}]}]},
     "input[0].content[0]"),
    ({"input": [{"role": "tool", "content": "x"}]}, "input[0].role"),
    ({"input": [{"type": "function_call", "call_id": "c", "name": "f"}]}, "input[0].arguments"),
    ({"input": 7}, "input"),
    ({"input": [{"type": "reasoning", "id": "rs_1", "summary": []}]}, "input"),
    ({"text": {"format": {"type": "yaml"}}}, "text.format.type"),
    ({"model": None}, "model"),
])
def test_what_cannot_be_translated_is_refused_naming_the_parameter(extra, param):
    with pytest.raises(InvalidRequest) as raised:
        responses.request_to_chat({"model": "m", "input": "x", **extra})
    assert raised.value.param == param
    assert_valid("ErrorResponse", raised.value.as_dict())


# Responses answers


def test_a_chat_answer_becomes_a_response_with_a_message():
    request = {"model": "mock-1", "input": "Hi there", "instructions": "Be brief.", "metadata": {"k": "v"}}
    response = responses.chat_to_response(mock_chat(responses.request_to_chat(request)), request=request)
    assert_valid("Response", response)
    parsed = Response.model_validate(response)
    assert parsed.output_text == "Hello from Prism's mock model! You said: Hi there"
    assert (response["id"], response["output"][0]["id"]) == ("resp_abc123", "msg_abc123")
    assert (response["status"], response["instructions"]) == ("completed", "Be brief.")
    assert response["metadata"] == {"k": "v"}
    assert response["usage"] == {"input_tokens": 6,
                                 "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
                                 "output_tokens": 9, "output_tokens_details": {"reasoning_tokens": 0},
                                 "total_tokens": 15}


def test_tool_calls_become_function_call_items():
    request = {"model": "mock-1", "input": "Paris", "tools": [WEATHER_TOOL], "parallel_tool_calls": False}
    response = responses.chat_to_response(mock_chat(responses.request_to_chat(request)), request=request)
    assert_valid("Response", response)
    assert response["output"] == [{"id": "fc_mock_0", "type": "function_call", "status": "completed",
                                   "arguments": "{\"text\":\"Paris\"}", "call_id": "call_mock_0",
                                   "name": "get_weather"}]
    assert response["tools"] == [{k: WEATHER_TOOL[k] for k in ("type", "name", "description", "parameters", "strict")}]
    assert response["parallel_tool_calls"] is False


def test_a_cut_answer_is_incomplete_and_usage_details_carry_over():
    completion = {
        "id": "chatcmpl-9", "object": "chat.completion", "created": 1_790_000_000, "model": "o4-mini",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "The answer is"},
                     "finish_reason": "length"}],
        "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120,
                  "prompt_tokens_details": {"cached_tokens": 64},
                  "completion_tokens_details": {"reasoning_tokens": 12}},
    }
    request = {"model": "o4-mini", "input": "x", "max_output_tokens": 20}
    response = responses.chat_to_response(completion, request=request)
    assert_valid("Response", response)
    assert (response["status"], response["incomplete_details"]) == ("incomplete", {"reason": "max_output_tokens"})
    assert response["output"][0]["status"] == "incomplete" and response["max_output_tokens"] == 20
    usage = Response.model_validate(response).usage
    assert (usage.input_tokens_details.cached_tokens, usage.output_tokens_details.reasoning_tokens) == (64, 12)


def test_a_refusal_is_a_refusal_part():
    completion = {"id": "chatcmpl-r", "created": 1, "model": "m", "choices": [
        {"index": 0, "message": {"role": "assistant", "content": None, "refusal": "I can't."},
         "finish_reason": "stop"}]}
    response = responses.chat_to_response(completion, request={"model": "m", "input": "x"})
    assert_valid("Response", response)
    assert response["output"][0]["content"] == [{"type": "refusal", "refusal": "I can't."}]


# Responses streams


def test_a_text_stream_follows_openais_event_order():
    request = {"model": "mock-1", "input": "Hi", "stream": True}
    events = responses_stream(request, mock_chunks(responses.request_to_chat(request)))
    deltas = len(mock_answers.reply_words({"messages": [{"role": "user", "content": "Hi"}]}))
    assert types_of(events) == [
        "response.created", "response.in_progress", "response.output_item.added", "response.content_part.added",
        *["response.output_text.delta"] * deltas, "response.output_text.done", "response.content_part.done",
        "response.output_item.done", "response.completed"]
    assert events[0]["response"]["status"] == "in_progress" and events[0]["response"]["output"] == []
    completed = events[-1]["response"]
    assert Response.model_validate(completed).output_text == "Hello from Prism's mock model! You said: Hi"
    usage = completed["usage"]
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"] > 0


def test_text_then_tool_calls_from_anthropic():
    request = {"model": "claude-sonnet-4-5", "input": "Weather in Paris and Oslo?", "tools": [WEATHER_TOOL],
               "stream": True}
    chunks = anthropic_chunks(
        {"type": "message_start", "message": {"id": "msg_01", "model": "claude-sonnet-4-5",
                                              "usage": {"input_tokens": 30, "output_tokens": 1}}},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Checking."}},
        {"type": "content_block_stop", "index": 0},
        *anthropic_tool_use(1, "toolu_Paris", "get_weather", "{\"city\":", "\"Paris\"}"),
        *anthropic_tool_use(2, "toolu_Oslo", "get_weather", "{\"city\":", "\"Oslo\"}"),
        {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 40}},
        {"type": "message_stop"},
    )
    events = responses_stream(request, chunks)
    assert types_of(events)[2:] == [
        "response.output_item.added", "response.content_part.added", "response.output_text.delta",
        "response.output_text.done", "response.content_part.done", "response.output_item.done",
        *["response.output_item.added", *["response.function_call_arguments.delta"] * 2,
          "response.function_call_arguments.done", "response.output_item.done"] * 2,
        "response.completed"]
    output = events[-1]["response"]["output"]
    assert [item["type"] for item in output] == ["message", "function_call", "function_call"]
    assert [(item["call_id"], item["arguments"]) for item in output[1:]] == [
        ("toolu_Paris", "{\"city\":\"Paris\"}"), ("toolu_Oslo", "{\"city\":\"Oslo\"}")]
    assert [event["output_index"] for event in events if event["type"] == "response.output_item.done"] == [0, 1, 2]
    assert events[-1]["response"]["usage"]["output_tokens"] == 40


def test_a_codex_turn_streams_a_function_call_and_echoes_its_settings():
    events = responses_stream(CODEX_REQUEST, mock_chunks(responses.request_to_chat(CODEX_REQUEST)))
    assert types_of(events) == [
        "response.created", "response.in_progress", "response.output_item.added",
        "response.function_call_arguments.delta", "response.function_call_arguments.done",
        "response.output_item.done", "response.completed"]
    response = events[-1]["response"]
    assert response["output"] == [{"id": "fc_mock_0", "type": "function_call", "status": "completed",
                                   "arguments": "{\"text\":\"thanks\"}", "call_id": "call_mock_0", "name": "shell"}]
    assert (response["store"], response["parallel_tool_calls"], response["text"]["verbosity"]) == (False, False, "low")
    assert response["reasoning"] == {"effort": "medium", "summary": "auto"}


def test_a_structured_output_request_is_echoed_in_the_response():
    request = {"model": "m", "input": "x", "text": {"format": {
        "type": "json_schema", "name": "answer", "strict": True,
        "schema": {"type": "object", "properties": {"kind": {"type": "string"}}, "required": ["kind"],
                   "additionalProperties": False}}}}
    completion = {"id": "chatcmpl-j", "created": 1, "model": "m", "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "{\"kind\":\"cat\"}"}, "finish_reason": "stop"}]}
    response = responses.chat_to_response(completion, request=request)
    assert_valid("Response", response)
    assert Response.model_validate(response).text.format.name == "answer"


def test_a_stream_cut_by_max_output_tokens_ends_incomplete():
    request = {"model": "mock-1", "input": "Hi", "max_output_tokens": 3, "stream": True}
    chat = responses.request_to_chat(request)
    translator = responses.ChatStreamToResponses(request)
    for chunk in mock_chunks(chat):
        translator.feed(chunk)
    events = sse_events(translator.finish())
    assert types_of(events)[-2:] == ["response.output_item.done", "response.incomplete"]
    assert events[-2]["item"]["status"] == "incomplete"
    assert events[-1]["response"]["incomplete_details"] == {"reason": "max_output_tokens"}
    assert translator.usage.items() >= {"prompt_tokens": 2, "completion_tokens": 3, "total_tokens": 5}.items()
    for event in events:
        assert_valid("ResponseStreamEvent", event)


def test_an_empty_stream_still_completes_with_an_empty_message():
    events = responses_stream({"model": "m", "input": "x"}, [])
    assert types_of(events)[2:5] == ["response.output_item.added", "response.content_part.added",
                                     "response.output_text.done"]
    assert events[-1]["response"]["output"][0]["content"][0]["text"] == ""


# Through the openai SDK


def test_sdk_responses_create_and_function_calling_round_trip():
    client = translating_client()
    tools = [WEATHER_TOOL]
    first = client.responses.create(model="mock-1", input="Paris", tools=tools, store=False)
    call = first.output[0]
    assert (call.type, call.name, call.arguments) == ("function_call", "get_weather", "{\"text\":\"Paris\"}")
    second = client.responses.create(
        model="mock-1", tools=tools, tool_choice="none", store=False,
        input=[{"role": "user", "content": "Paris"}, call.model_dump(exclude_none=True),
               {"type": "function_call_output", "call_id": call.call_id, "output": "Sunny"}])
    assert second.output_text.startswith("Hello from Prism's mock model!")
    assert second.usage.input_tokens > first.usage.input_tokens


def test_sdk_responses_stream_helper():
    client = translating_client()
    with client.responses.stream(model="mock-1", input="Stream this", instructions="Be brief.") as stream:
        deltas = [event.delta for event in stream if event.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert "".join(deltas) == final.output_text == "Hello from Prism's mock model! You said: Stream this"
    assert final.status == "completed" and final.usage.output_tokens == len(deltas)


def test_sdk_sees_the_refused_parameter():
    with pytest.raises(openai.BadRequestError) as raised:
        translating_client().responses.create(model="mock-1", input="x", previous_response_id="resp_1")
    assert raised.value.param == "previous_response_id"


# Legacy completions


def test_a_completions_request_becomes_one_user_message():
    chat = completions.request_to_chat({"model": "mock-1", "prompt": "Once upon", "temperature": 0.7, "n": 2,
                                        "stop": ["\n"], "seed": 4, "logit_bias": {"50256": -100}, "user": "u"})
    assert chat == {"model": "mock-1", "temperature": 0.7, "n": 2, "stop": ["\n"], "seed": 4, "user": "u",
                    "logit_bias": {"50256": -100}, "messages": [{"role": "user", "content": "Once upon"}],
                    "max_tokens": 16}
    assert_valid("CreateChatCompletionRequest", chat)
    assert completions.request_to_chat({"model": "m", "prompt": ["one"], "max_tokens": 99})["max_tokens"] == 99
    streamed = completions.request_to_chat({"model": "m", "prompt": "x", "stream": True})
    assert streamed["stream_options"] == {"include_usage": True}


@pytest.mark.parametrize("extra, param", [
    ({"prompt": ["one", "two"]}, "prompt"),
    ({"prompt": [1, 2, 3]}, "prompt"),
    ({"prompt": [[1, 2], [3]]}, "prompt"),
    ({"prompt": None}, "prompt"),
    ({"suffix": "end"}, "suffix"),
    ({"echo": True}, "echo"),
    ({"logprobs": 2}, "logprobs"),
    ({"best_of": 3}, "best_of"),
    ({"model": 3}, "model"),
])
def test_what_chat_cannot_do_for_completions_is_refused(extra, param):
    with pytest.raises(InvalidRequest) as raised:
        completions.request_to_chat({"model": "m", "prompt": "x", **extra})
    assert raised.value.param == param


def test_a_chat_answer_becomes_a_text_completion():
    answer = completions.chat_to_completion(mock_chat(completions.request_to_chat(
        {"model": "mock-1", "prompt": "Say this is a test", "max_tokens": 7, "n": 2})))
    assert_valid("CreateCompletionResponse", answer)
    parsed = Completion.model_validate(answer)
    assert (parsed.id, parsed.object, parsed.system_fingerprint) == ("cmpl-abc123", "text_completion", "fp_prism_mock")
    assert [(c.index, c.text, c.finish_reason) for c in parsed.choices] == [
        (i, "Hello from Prism's mock model! You said: ", "length") for i in (0, 1)]
    assert parsed.usage.completion_tokens == 14


def test_a_tool_call_finish_is_a_stop():
    completion = {"id": "chatcmpl-t", "created": 1, "model": "m", "choices": [
        {"index": 0, "message": {"role": "assistant", "content": None}, "finish_reason": "tool_calls"}]}
    answer = completions.chat_to_completion(completion)
    assert_valid("CreateCompletionResponse", answer)
    assert answer["choices"][0] | {"text": "", "finish_reason": "stop"} == answer["choices"][0]


@pytest.mark.parametrize("include_usage", [True, False])
def test_a_chat_stream_becomes_a_completions_stream(include_usage):
    translator = completions.ChatStreamToCompletions(include_usage=include_usage)
    chat = completions.request_to_chat({"model": "mock-1", "prompt": "Hi", "stream": True})
    stream = b"".join(translator.feed(chunk) for chunk in mock_chunks(chat)) + translator.finish()
    blocks = stream.decode().split("\n\n")
    assert blocks[-2:] == ["data: [DONE]", ""]
    chunks = [json.loads(block.removeprefix("data: ")) for block in blocks[:-2]]
    for chunk in chunks:
        # OpenAI's schema has no null finish_reason, which OpenAI itself sends on every chunk but the last.
        assert_valid("CreateCompletionResponse", chunk | {"choices": [
            choice | {"finish_reason": choice["finish_reason"] or "stop"} for choice in chunk["choices"]]})
    text = "".join(choice["text"] for chunk in chunks for choice in chunk["choices"])
    assert text == "Hello from Prism's mock model! You said: Hi"
    assert chunks[-1 - include_usage]["choices"][0]["finish_reason"] == "stop"
    assert ("usage" in chunks[-1]) is include_usage
    assert translator.usage.items() >= {"prompt_tokens": 2, "completion_tokens": 8, "total_tokens": 10}.items()


def test_sdk_completions_create_whole_and_streamed():
    client = translating_client()
    whole = client.completions.create(model="mock-1", prompt="Tell me", max_tokens=3)
    assert (whole.choices[0].text, whole.choices[0].finish_reason) == ("Hello from Prism's ", "length")
    chunks = list(client.completions.create(model="mock-1", prompt="Tell me", stream=True,
                                            stream_options={"include_usage": True}))
    assert "".join(c.choices[0].text for c in chunks if c.choices) == "Hello from Prism's mock model! You said: Tell me"
    assert chunks[-1].usage.completion_tokens == 9


# Malformed bodies


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=10,
)


def shaped(kinds: list[str], fields: list[str]):
    """Objects that look nearly right: a known `type` and known field names with any values."""
    return st.fixed_dictionaries({"type": st.sampled_from(kinds) | json_values},
                                 optional={field: json_values | st.text(max_size=5) for field in fields})


parts = shaped(["input_text", "input_image", "input_file", "output_text", "refusal"],
               ["text", "image_url", "file_id", "file_data", "filename", "detail", "refusal"])
items = shaped(["message", "function_call", "function_call_output", "reasoning", "item_reference"],
               ["role", "call_id", "name", "arguments", "id"]).flatmap(
    lambda item: st.fixed_dictionaries({"content": st.lists(parts, max_size=3) | json_values,
                                        "output": st.lists(parts, max_size=2) | json_values}).map(
        lambda more: item | more)) | json_values
responses_bodies = st.fixed_dictionaries(
    {"model": st.just("m") | json_values, "input": st.text(max_size=5) | st.lists(items, max_size=4) | json_values},
    optional={name: json_values for name in ["instructions", "tools", "tool_choice", "text", "reasoning", "stream",
                                             "store", "previous_response_id", "max_output_tokens"]}
    | {"tools": st.lists(shaped(["function", "web_search", "custom"], ["name", "parameters", "strict"]), max_size=2),
       "text": st.fixed_dictionaries({"format": shaped(["text", "json_schema", "json_object"], ["name", "schema"])})},
) | json_values
completions_bodies = st.fixed_dictionaries(
    {"model": st.just("m") | json_values, "prompt": json_values},
    optional={name: json_values for name in ["suffix", "echo", "logprobs", "best_of", "max_tokens", "stream", "n"]},
) | json_values


@settings(max_examples=2000, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(case=st.tuples(st.just(responses), responses_bodies) | st.tuples(st.just(completions), completions_bodies))
def test_malformed_bodies_only_ever_raise_invalid_request(case):
    translation, body = case
    try:
        chat = translation.request_to_chat(body)
    except InvalidRequest:
        return
    assert chat["messages"] and isinstance(chat["model"], str)
