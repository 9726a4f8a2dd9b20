"""Anthropic's Messages API translated to and from OpenAI chat completions, checked with the anthropic SDK's own types.

The bodies are what Claude Code 2.1.332 sent in non-interactive mode (trimmed); the OpenAI answers come from the
project's mock (providers/mock_answers.py) or copy what OpenAI streams.
"""

import json

import httpx2
import orjson
import pytest
from anthropic import types
from anthropic._error_classes import make_status_error
from anthropic.lib.streaming._messages import accumulate_event
from hypothesis import HealthCheck, given, settings, strategies as st
from pydantic import TypeAdapter

from gateway import errors
from gateway.translations.anthropic_errors import (
    error_body, error_event, gateway_error_to_anthropic, openai_error_to_anthropic,
)
from gateway.translations.messages import ChatStreamToMessages, chat_to_message, count_tokens_estimate, request_to_chat
from gateway.translations.messages_check import ROLES, messages_request_check
from providers import mock_answers

READ_TOOL = {
    "name": "Read", "description": "Reads a file from the local filesystem.",
    "input_schema": {
        "$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
        "properties": {"file_path": {"description": "The absolute path to the file to read", "type": "string"}},
        "required": ["file_path"], "additionalProperties": False,
    },
}
PLACEHOLDER_TOOL = {"name": "DeferredToolPlaceholder", "description": "Reserved placeholder.",
                    "input_schema": {"type": "object", "properties": {}}, "defer_loading": True}
CACHED = {"type": "ephemeral"}
USER_ID = json.dumps({"device_id": "23661f603df83966504cd97aed5a4f560df52835a62159694a395348473ddd1d",
                      "account_uuid": "", "session_id": "6a189dfb-e231-45a2-8297-5e2a2300f016"})
# Claude Code's second request of a turn that read a file: its first answer was a tool_use, this one carries the result.
CLAUDE_CODE = {
    "model": "gpt-4o",
    "messages": [
        {"role": "user", "content": [
            {"type": "text", "text": "<system-reminder>\nAttribution for git commits...\n</system-reminder>\n"},
            {"type": "text", "text": "USE_TOOL read the file"}]},
        {"role": "system", "content": "# Environment\nYou have been invoked in the following environment: ..."},
        {"role": "assistant", "content": [
            {"type": "thinking", "thinking": "", "signature": "EqQBCkYIBxgCKkB"},
            {"type": "tool_use", "id": "toolu_0001", "name": "Read", "input": {"file_path": "/tmp/proj/hello.txt"}}]},
        {"role": "user", "content": [
            {"tool_use_id": "toolu_0001", "type": "tool_result", "content": "1\thello from file\n2\t",
             "cache_control": CACHED}]},
    ],
    "system": [
        {"type": "text", "text": "x-anthropic-billing-header: cc_version=2.1.332.201; cc_entrypoint=sdk-cli;"},
        {"type": "text", "text": "You are a Claude agent, built on Anthropic's Claude Agent SDK.",
         "cache_control": CACHED},
        {"type": "text", "text": "\nYou are an agent working with the user toward their goals.",
         "cache_control": CACHED},
    ],
    "tools": [READ_TOOL, PLACEHOLDER_TOOL],
    "metadata": {"user_id": USER_ID},
    "max_tokens": 32000,
    "thinking": {"type": "adaptive", "display": "omitted"},
    "context_management": {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]},
    "output_config": {"effort": "high"},
    "stream": True,
}
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
events_adapter = TypeAdapter(types.RawMessageStreamEvent)


def body(**fields) -> dict:
    return {"model": "gpt-4o", "max_tokens": 1024, "messages": [{"role": "user", "content": "Hello"}], **fields}


def events(stream: bytes) -> list[dict]:
    """The SSE events in `stream`, each checked: its `event:` line names its data's type."""
    parsed = []
    for event in stream.decode().split("\n\n")[:-1]:
        name, data = event.split("\n")
        assert name.startswith("event: ") and data.startswith("data: ")
        parsed.append(json.loads(data.removeprefix("data: ")))
        assert parsed[-1]["type"] == name.removeprefix("event: ")
    return parsed


def sdk_message(parsed: list[dict]) -> types.Message:
    """The message the anthropic SDK builds from the events, each validated by its own types on the way."""
    snapshot, buffers = None, {}
    for event in parsed:
        if event["type"] != "ping":
            snapshot = accumulate_event(event=events_adapter.validate_python(event), current_snapshot=snapshot,
                                        json_bufs=buffers)
    return types.Message.model_validate(snapshot.model_dump())


def streamed(chunks, model="gpt-4o") -> tuple[list[dict], ChatStreamToMessages]:
    translator = ChatStreamToMessages(model)
    stream = b"".join(translator.feed(chunk) for chunk in chunks) + translator.finish()
    return events(stream), translator


# The request


def test_a_claude_code_request_becomes_a_chat_request():
    chat = request_to_chat(messages_request_check(CLAUDE_CODE))
    assert chat["messages"] == [
        {"role": "system", "content": "x-anthropic-billing-header: cc_version=2.1.332.201; cc_entrypoint=sdk-cli;\n\n"
                                      "You are a Claude agent, built on Anthropic's Claude Agent SDK.\n\n"
                                      "\nYou are an agent working with the user toward their goals."},
        {"role": "user", "content": "<system-reminder>\nAttribution for git commits...\n</system-reminder>\n\n\n"
                                    "USE_TOOL read the file"},
        {"role": "system", "content": "# Environment\nYou have been invoked in the following environment: ..."},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "toolu_0001", "type": "function",
             "function": {"name": "Read", "arguments": '{"file_path":"/tmp/proj/hello.txt"}'}}]},
        {"role": "tool", "tool_call_id": "toolu_0001", "content": "1\thello from file\n2\t"},
    ]
    assert chat["tools"] == [
        {"type": "function", "function": {"name": "Read", "parameters": READ_TOOL["input_schema"],
                                          "description": "Reads a file from the local filesystem."}},
        {"type": "function", "function": {"name": "DeferredToolPlaceholder", "description": "Reserved placeholder.",
                                          "parameters": {"type": "object", "properties": {}}}},
    ]
    assert chat["max_tokens"] == 32000 and chat["stream"] is True and chat["stream_options"] == {"include_usage": True}
    assert len(chat["user"]) == 64  # Claude Code's user_id is too long for OpenAI: its hash stands for it
    assert set(chat) == {"model", "messages", "tools", "max_tokens", "user", "stream", "stream_options"}
    assert "cache_control" not in json.dumps(chat) and "thinking" not in json.dumps(chat["messages"])


def test_a_reasoning_model_gets_the_effort_and_max_completion_tokens():
    chat = request_to_chat(CLAUDE_CODE, reasoning=True)
    assert chat["reasoning_effort"] == "high" and chat["max_completion_tokens"] == 32000 and "max_tokens" not in chat


@pytest.mark.parametrize("thinking, output_config, effort", [
    ({"type": "enabled", "budget_tokens": 4000}, None, "low"),  # Claude Code's "think"
    ({"type": "enabled", "budget_tokens": 10000}, None, "medium"),  # "think hard"
    ({"type": "enabled", "budget_tokens": 31999}, None, "high"),  # "ultrathink"
    ({"type": "adaptive"}, None, "medium"),
    ({"type": "adaptive"}, {"effort": "max"}, "high"),
    (None, {"effort": "low"}, "low"),
    ({"type": "disabled"}, {"effort": "high"}, None),
    (None, None, None),
])
def test_thinking_becomes_a_reasoning_effort(thinking, output_config, effort):
    request = messages_request_check(body(thinking=thinking, output_config=output_config))
    assert request_to_chat(request, reasoning=True).get("reasoning_effort") == effort
    assert "reasoning_effort" not in request_to_chat(request)


def test_images_and_tool_results_with_blocks():
    request = body(messages=[
        {"role": "user", "content": [
            {"type": "text", "text": "What is in these?"},
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
            {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}}]},
        {"role": "assistant", "content": [
            {"type": "text", "text": "Let me look closer."},
            {"type": "tool_use", "id": "toolu_1", "name": "zoom", "input": {"x": 1}},
            {"type": "tool_use", "id": "toolu_2", "name": "zoom", "input": {"x": 2}}]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_1", "is_error": True, "content": "out of range"},
            {"type": "tool_result", "tool_use_id": "toolu_2", "content": [
                {"type": "text", "text": "zoomed"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}}]},
            {"type": "text", "text": "Well?"}]},
    ])
    messages = request_to_chat(messages_request_check(request))["messages"]
    assert messages[0]["content"] == [
        {"type": "text", "text": "What is in these?"},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}},
    ]
    assert messages[1]["content"] == "Let me look closer."
    assert [call["function"]["arguments"] for call in messages[1]["tool_calls"]] == ['{"x":1}', '{"x":2}']
    assert messages[2:4] == [{"role": "tool", "tool_call_id": "toolu_1", "content": "Error: out of range"},
                             {"role": "tool", "tool_call_id": "toolu_2", "content": "zoomed"}]
    # OpenAI's tool messages hold text only: a result's image follows in the next user message
    assert messages[4] == {"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}}, {"type": "text", "text": "Well?"}]}


@pytest.mark.parametrize("choice, expected", [
    ({"type": "auto"}, {"tool_choice": "auto"}),
    ({"type": "any"}, {"tool_choice": "required"}),
    ({"type": "none"}, {"tool_choice": "none"}),
    ({"type": "tool", "name": "Read"}, {"tool_choice": {"type": "function", "function": {"name": "Read"}}}),
    ({"type": "auto", "disable_parallel_tool_use": True}, {"tool_choice": "auto", "parallel_tool_calls": False}),
])
def test_tool_choice(choice, expected):
    chat = request_to_chat(messages_request_check(body(tools=[READ_TOOL], tool_choice=choice)))
    assert {key: chat[key] for key in expected} == expected and len(chat) == 4 + len(expected)


def test_sampling_stop_sequences_and_what_only_claude_has():
    request = body(temperature=0.2, top_p=0.9, top_k=40, stop_sequences=["END", "STOP"], tool_choice={"type": "auto"},
                   metadata={"user_id": "u-1"}, system="Be terse.", service_tier="auto", container="c1")
    assert request_to_chat(messages_request_check(request)) == {
        "model": "gpt-4o", "max_tokens": 1024, "temperature": 0.2, "top_p": 0.9, "stop": ["END", "STOP"], "user": "u-1",
        "messages": [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "Hello"}],
    }


@pytest.mark.parametrize("request_fields, param", [
    ({"tools": [{"type": "web_search_20250305", "name": "web_search"}]}, "tools.0.type"),
    ({"messages": [{"role": "user", "content": [{"type": "image", "source": {"type": "file", "file_id": "file_1"}}]}]},
     "messages.0.content.0"),
    ({"messages": [{"role": "user", "content": [
        {"type": "search_result", "source": "s", "title": "t", "content": []}]}]}, "messages.0.content.0"),
])
def test_what_only_an_anthropic_model_can_do_is_refused(request_fields, param):
    with pytest.raises(errors.InvalidRequest) as raised:
        request_to_chat(messages_request_check(body(**request_fields)))
    assert raised.value.param == param and "Anthropic model" in raised.value.message


@pytest.mark.parametrize("request_fields, param", [
    ({"model": None}, "model"),
    ({"max_tokens": "10"}, "max_tokens"),
    ({"max_tokens": -1}, "max_tokens"),
    ({"messages": []}, "messages"),
    ({"messages": [{"role": "tool", "content": "x"}]}, "messages.0.role"),
    ({"messages": [{"role": "user"}]}, "messages.0.content"),
    ({"messages": [{"role": "user", "content": [{"text": "no type"}]}]}, "messages.0.content.0"),
    ({"messages": [{"role": "user", "content": [{"type": "text", "text": 1}]}]}, "messages.0.content.0.text"),
    ({"messages": [{"role": "user", "content": [{"type": "tool_use", "id": "t", "name": "n", "input": "x"}]}]},
     "messages.0.content.0.input"),
    ({"messages": [{"role": "user", "content": [{"type": "image", "source": {"type": "base64"}}]}]},
     "messages.0.content.0.source"),
    ({"messages": [{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": 3}]}]},
     "messages.0.content.0.content"),
    ({"messages": [{"role": "system", "content": [{"type": "image"}]}]}, "messages.0.content.0"),
    ({"system": [{"type": "text"}]}, "system.0"),
    ({"system": 5}, "system"),
    ({"tools": {"name": "x"}}, "tools"),
    ({"tools": [{"name": "Read"}]}, "tools.0.input_schema"),
    ({"tools": [{"input_schema": {}}]}, "tools.0.name"),
    ({"tool_choice": {"type": "sometimes"}}, "tool_choice"),
    ({"tool_choice": {"type": "tool"}}, "tool_choice.name"),
    ({"tool_choice": {"type": "any", "disable_parallel_tool_use": "yes"}}, "tool_choice.disable_parallel_tool_use"),
    ({"stream": "true"}, "stream"),
    ({"temperature": True}, "temperature"),
    ({"stop_sequences": "END"}, "stop_sequences"),
    ({"stop_sequences": ["END", 1]}, "stop_sequences"),
    ({"metadata": {"user_id": 7}}, "metadata.user_id"),
    ({"thinking": {"budget_tokens": 2048}}, "thinking.type"),
    ({"thinking": {"type": "enabled", "budget_tokens": 100}}, "thinking.enabled.budget_tokens"),
    ({"output_config": "high"}, "output_config"),
])
def test_malformed_requests_are_refused_naming_the_field(request_fields, param):
    with pytest.raises(errors.InvalidRequest) as raised:
        messages_request_check(body(**request_fields))
    assert raised.value.param == param and raised.value.message.startswith(f"{param}: ")


def test_unknown_fields_and_blocks_pass_the_check_for_an_anthropic_upstream():
    request = body(context_management={"edits": []}, speed="fast", messages=[
        {"role": "user", "content": [{"type": "container_upload", "file_id": "f"}, {"type": "text", "text": "hi"}]}])
    assert messages_request_check(request) is request


def test_count_tokens_needs_no_max_tokens():
    request = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Hello"}]}
    assert messages_request_check(request, counting=True) is request
    with pytest.raises(errors.InvalidRequest):
        messages_request_check(request)


# The answer


def test_a_text_completion_becomes_a_message():
    chat = request_to_chat(body(stop_sequences=["mock"]))
    completion = mock_answers.completion(chat, completion_id="chatcmpl-1", created=0)
    message = chat_to_message(completion, model="claude-sonnet-4-5")
    assert types.Message.model_validate(message).model_dump(exclude_unset=True) == message
    assert message == {
        "id": "msg_chatcmpl-1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
        "content": [{"type": "text", "text": "Hello from Prism's "}], "stop_reason": "end_turn", "stop_sequence": None,
        "usage": {"input_tokens": 2, "output_tokens": 3, "cache_creation_input_tokens": 0,
                  "cache_read_input_tokens": 0},
    }


def test_a_tool_call_becomes_a_tool_use_block():
    chat = request_to_chat(body(tools=[READ_TOOL], tool_choice={"type": "tool", "name": "Read"}))
    message = chat_to_message(mock_answers.completion(chat, completion_id="c", created=0), model="gpt-4o")
    types.Message.model_validate(message)
    assert message["content"] == [{"type": "tool_use", "id": "call_mock_0", "name": "Read", "input": {"text": "Hello"}}]
    assert message["stop_reason"] == "tool_use"


@pytest.mark.parametrize("arguments, tool_input", [
    ('{"path": "a"}', {"path": "a"}), ("", {}), (None, {}), ('{"path": ', {"_invalid_arguments": '{"path": '}),
    ("[1, 2]", {"_invalid_arguments": "[1, 2]"}), ({"path": "a"}, {"path": "a"}),
])
def test_tool_arguments_that_are_not_an_object_never_break_the_answer(arguments, tool_input):
    completion = {"id": "c", "choices": [{"index": 0, "finish_reason": "stop", "message": {
        "role": "assistant", "content": "Reading.", "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "Read", "arguments": arguments}}]}}]}
    message = chat_to_message(completion, model="m")
    types.Message.model_validate(message)
    assert message["content"][1]["input"] == tool_input and message["stop_reason"] == "tool_use"


@pytest.mark.parametrize("choice, stop_reason, stop_sequence", [
    ({"finish_reason": "stop"}, "end_turn", None),
    ({"finish_reason": "length"}, "max_tokens", None),
    ({"finish_reason": "content_filter"}, "refusal", None),
    ({"finish_reason": "stop", "stop_reason": "END"}, "stop_sequence", "END"),  # vLLM names the matched sequence
    ({"finish_reason": "stop", "stop_reason": 128001}, "end_turn", None),  # or the stop token's id
    ({"finish_reason": None}, "end_turn", None),
])
def test_finish_reasons(choice, stop_reason, stop_sequence):
    message = chat_to_message({"choices": [{"message": {"content": "x"}, **choice}]}, model="m")
    assert (message["stop_reason"], message["stop_sequence"]) == (stop_reason, stop_sequence)
    assert message["id"].startswith("msg_") and message["usage"]["output_tokens"] == 0


def test_cached_prompt_tokens_are_cache_reads():
    usage = {"prompt_tokens": 2006, "completion_tokens": 300, "total_tokens": 2306,
             "prompt_tokens_details": {"cached_tokens": 1920}, "completion_tokens_details": {"reasoning_tokens": 0}}
    message = chat_to_message({"choices": [{"message": {"content": "x"}}], "usage": usage}, model="m")
    assert message["usage"] == {"input_tokens": 86, "output_tokens": 300, "cache_read_input_tokens": 1920,
                                "cache_creation_input_tokens": 0}


def test_an_answer_without_choices_is_an_upstream_error():
    with pytest.raises(errors.UpstreamError):
        chat_to_message({"object": "chat.completion"}, model="m")


# The stream


def test_a_text_stream_in_anthropic_order():
    chat = request_to_chat(body(stream=True))
    parsed, translator = streamed(mock_answers.chunks(chat, completion_id="chatcmpl-1", created=0))
    assert [e["type"] for e in parsed] == ["message_start", "ping", "content_block_start", *["content_block_delta"] * 8,
                                           "content_block_stop", "message_delta", "message_stop"]
    assert parsed[0]["message"]["usage"]["input_tokens"] == 0  # OpenAI counts only at the end
    assert parsed[-2] == {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                          "usage": {"input_tokens": 2, "output_tokens": 8, "cache_creation_input_tokens": 0,
                                    "cache_read_input_tokens": 0}}
    message = sdk_message(parsed)
    assert message.content[0].text == "Hello from Prism's mock model! You said: Hello"
    assert (message.id, message.model, message.usage.input_tokens) == ("msg_chatcmpl-1", "gpt-4o", 2)
    assert translator.usage.items() >= {"prompt_tokens": 2, "completion_tokens": 8, "total_tokens": 10}.items()


def test_a_tool_call_stream_from_the_mock():
    chat = request_to_chat(body(stream=True, tools=[READ_TOOL]))
    parsed, _ = streamed(mock_answers.chunks(chat, completion_id="c", created=0))
    assert parsed[2] == {"type": "content_block_start", "index": 0,
                         "content_block": {"type": "tool_use", "id": "call_mock_0", "name": "Read", "input": {}}}
    assert parsed[3]["delta"] == {"type": "input_json_delta", "partial_json": '{"text":"Hello"}'}
    message = sdk_message(parsed)
    assert message.content[0].input == {"text": "Hello"} and message.stop_reason == "tool_use"


def chunk(delta=None, finish_reason=None, **fields):
    choices = [{"index": 0, "delta": delta or {}, "logprobs": None, "finish_reason": finish_reason}]
    return {"id": "chatcmpl-7", "object": "chat.completion.chunk", "created": 0, "model": "gpt-4o-2024-08-06",
            "choices": choices, "usage": None, **fields}


def call(index, arguments, *, call_id=None, name=None):
    delta = {"index": index, "function": {"arguments": arguments}}
    if call_id:
        delta.update(id=call_id, type="function", function={"name": name, "arguments": arguments})
    return {"tool_calls": [delta]}


# What OpenAI streams for text followed by two parallel tool calls, arguments in pieces, and cached usage.
OPENAI_PARALLEL_CALLS = [
    chunk({"role": "assistant", "content": "", "refusal": None}),
    chunk({"content": "Reading both."}),
    chunk(call(0, "", call_id="call_a", name="Read")),
    chunk(call(0, '{"file_path"')),
    chunk(call(0, ': "/a.txt"}')),
    chunk(call(1, "", call_id="call_b", name="Read")),
    chunk(call(1, '{"file_path": "/b.txt"}')),
    chunk(finish_reason="tool_calls"),
    chunk(choices=[], usage={"prompt_tokens": 1500, "completion_tokens": 40, "total_tokens": 1540,
                             "prompt_tokens_details": {"cached_tokens": 1024, "audio_tokens": 0}}),
]


def test_parallel_tool_calls_stream_one_block_each():
    parsed, translator = streamed(OPENAI_PARALLEL_CALLS)
    assert [(e["type"], e.get("index")) for e in parsed] == [
        ("message_start", None), ("ping", None),
        ("content_block_start", 0), ("content_block_delta", 0), ("content_block_stop", 0),
        ("content_block_start", 1), ("content_block_delta", 1), ("content_block_delta", 1), ("content_block_stop", 1),
        ("content_block_start", 2), ("content_block_delta", 2), ("content_block_stop", 2),
        ("message_delta", None), ("message_stop", None),
    ]
    message = sdk_message(parsed)
    assert [block.type for block in message.content] == ["text", "tool_use", "tool_use"]
    assert [block.input for block in message.content[1:]] == [{"file_path": "/a.txt"}, {"file_path": "/b.txt"}]
    assert [block.id for block in message.content[1:]] == ["call_a", "call_b"]
    assert message.stop_reason == "tool_use"
    usage = message.usage
    assert (usage.input_tokens, usage.cache_read_input_tokens, usage.output_tokens) == (476, 1024, 40)
    assert translator.usage["prompt_tokens"] == 1500


def test_calls_that_reuse_index_zero_are_still_separate_blocks():
    chunks = [chunk(call(0, '{"a": 1}', call_id="call_1", name="f")),
              chunk(call(0, '{"b": 2}', call_id="call_2", name="g")), chunk(finish_reason="tool_calls")]
    message = sdk_message(streamed(chunks)[0])
    assert [(block.name, block.input) for block in message.content] == [("f", {"a": 1}), ("g", {"b": 2})]


def test_an_empty_stream_still_makes_a_whole_message():
    parsed, translator = streamed([])
    assert [e["type"] for e in parsed] == ["message_start", "ping", "message_delta", "message_stop"]
    assert sdk_message(parsed).content == [] and translator.usage is None


def test_an_error_in_the_stream_is_an_upstream_error():
    translator = ChatStreamToMessages("gpt-4o")
    translator.feed(chunk({"content": "Hi"}))
    with pytest.raises(errors.UpstreamError, match="model overloaded"):
        translator.feed({"error": {"message": "model overloaded", "type": "server_error"}})


# Errors


@pytest.mark.parametrize("error, status, error_type, sdk_class", [
    (errors.InvalidRequest("bad"), 400, "invalid_request_error", "BadRequestError"),
    (errors.AuthenticationFailed(), 401, "authentication_error", "AuthenticationError"),
    (errors.PermissionDenied(), 403, "permission_error", "PermissionDeniedError"),
    (errors.ModelNotFound("no such model"), 404, "not_found_error", "NotFoundError"),
    (errors.MethodNotAllowed("use POST"), 405, "invalid_request_error", "APIStatusError"),
    (errors.PayloadTooLarge("too big"), 413, "request_too_large", "ContentTooLargeError"),
    (errors.RateLimited("slow down", type="tokens"), 429, "rate_limit_error", "RateLimitError"),
    (errors.QuotaExceeded("budget spent"), 429, "rate_limit_error", "RateLimitError"),
    (errors.GatewayError(), 500, "api_error", "InternalServerError"),
    (errors.ServiceUnavailable(), 503, "overloaded_error", "ServiceUnavailableError"),
    (errors.GatewayTimeout(), 504, "timeout_error", "GatewayTimeoutError"),
])
def test_gateway_errors_in_anthropic_shape_raise_the_sdk_exceptions(error, status, error_type, sdk_class):
    answered_status, answer = gateway_error_to_anthropic(error)
    parsed = orjson.loads(answer)
    assert answered_status == status
    assert parsed == {"type": "error", "error": {"type": error_type, "message": error.message}}
    if error_type != "request_too_large":  # in Anthropic's docs, not yet among its SDK's types
        types.ErrorResponse.model_validate(parsed)
    response = httpx2.Response(status, request=httpx2.Request("POST", "http://127.0.0.1/v1/messages"))
    raised = make_status_error(f"Error code: {status}", body=parsed, response=response)
    assert type(raised).__name__ == sdk_class and raised.type == error_type and raised.api_message == error.message


def test_overloaded_is_529():
    assert orjson.loads(error_body(529, None, "Overloaded"))["error"]["type"] == "overloaded_error"
    assert orjson.loads(error_body(418, None, "?"))["error"]["type"] == "invalid_request_error"
    assert orjson.loads(error_body(502, None, "?"))["error"]["type"] == "api_error"


def test_an_error_once_streaming_is_an_error_event():
    [event] = events(error_event(errors.UpstreamError("The upstream provider ended the stream early.")))
    assert event["error"] == {"type": "api_error", "message": "The upstream provider ended the stream early."}


@pytest.mark.parametrize("status, upstream_body, error_type, message", [
    (400, b'{"error": {"message": "This model\'s maximum context length is 128000 tokens. However, your messages'
          b' resulted in 204308 tokens. Please reduce the length of the messages.", "type": "invalid_request_error",'
          b' "param": "messages", "code": "context_length_exceeded"}}',
     "invalid_request_error", "prompt is too long: 204308 tokens > 128000 maximum"),  # Claude Code's words to compact
    (400, b'{"error": {"message": "max_tokens is too large: 32000. This model supports at most 16384 completion tokens,'
          b' whereas you provided 32000.", "type": "invalid_request_error", "param": "max_tokens", "code": null}}',
     "invalid_request_error",  # Claude Code then asks again with max_tokens 16384
     "max_tokens: 32000 > 16384, which is the maximum allowed number of output tokens for this model"),
    (400, b'{"error": {"message": "Input is too long.", "code": "context_length_exceeded"}}',
     "invalid_request_error", "prompt is too long: Input is too long."),
    (401, b'{"error": {"message": "Incorrect API key provided.", "type": "invalid_request_error",'
          b' "code": "invalid_api_key"}}',
     "authentication_error", "Incorrect API key provided."),
    (429, b'{"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}}',
     "rate_limit_error", "Rate limit reached"),
    (502, b"<html>Bad Gateway</html>", "api_error", "The upstream provider answered with HTTP status 502."),
    (500, b'{"error": "vLLM says no"}', "api_error", "vLLM says no"),
    (503, b"[]", "overloaded_error", "The upstream provider answered with HTTP status 503."),
])
def test_an_openai_upstream_error_in_anthropic_shape(status, upstream_body, error_type, message):
    parsed = orjson.loads(openai_error_to_anthropic(status, upstream_body))
    assert parsed == {"type": "error", "error": {"type": error_type, "message": message}}
    types.ErrorResponse.model_validate(parsed)


# Counting


def test_the_token_estimate():
    # 415 characters ("role", "user", "content" and the text) in 104 tokens, and 4 for the message
    assert count_tokens_estimate(body(messages=[{"role": "user", "content": "a" * 400}])) == 108
    with_image = body(messages=[{"role": "user", "content": [
        {"type": "text", "text": "a" * 400},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG * 1000}}]}])
    assert count_tokens_estimate(with_image) == 105 + 1600 + 4  # the image's bytes are not text
    assert count_tokens_estimate(CLAUDE_CODE) > count_tokens_estimate({**CLAUDE_CODE, "tools": []}) > 100


# Fuzzing: whatever a client sends, a 400 naming the problem or a translation, never another exception


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=10,
)
short_text = st.text(max_size=8)
block_types = st.sampled_from(["text", "image", "document", "tool_use", "tool_result", "thinking", "redacted_thinking",
                               "server_tool_use", "search_result"])
sources = st.fixed_dictionaries({"type": st.sampled_from(["base64", "url", "file", "text"]) | json_values},
                                optional={"data": json_values, "media_type": json_values, "url": json_values})
block_fields = {"text": short_text | json_values, "source": sources | json_values, "id": short_text, "name": short_text,
                "input": json_values, "tool_use_id": short_text | json_values, "is_error": json_values,
                "thinking": short_text, "signature": short_text}
blocks = st.recursive(
    st.fixed_dictionaries({"type": block_types | json_values}, optional=block_fields),
    lambda children: st.fixed_dictionaries({"type": st.just("tool_result"), "tool_use_id": st.just("t"),
                                            "content": st.lists(children, max_size=3) | json_values}),
    max_leaves=5,
)
contents = short_text | st.lists(blocks, max_size=3) | json_values
message_dicts = st.fixed_dictionaries({"role": st.sampled_from(ROLES) | json_values}, optional={"content": contents})
messages = st.lists(message_dicts, max_size=3) | json_values
tools = st.lists(st.fixed_dictionaries({"name": short_text | json_values}, optional={
    "type": st.sampled_from(["custom", "bash_20250124"]) | json_values, "input_schema": json_values,
    "description": json_values}), max_size=2) | json_values
tool_choices = st.fixed_dictionaries({"type": st.sampled_from(["auto", "any", "tool", "none"])},
                                     optional={"name": json_values, "disable_parallel_tool_use": json_values})
thinking = st.fixed_dictionaries({"type": st.sampled_from(["enabled", "adaptive", "disabled"])},
                                 optional={"budget_tokens": st.integers(0, 40000) | json_values})
requests = st.fixed_dictionaries({"model": st.just("gpt-4o") | json_values, "messages": messages}, optional={
    "max_tokens": st.integers(-2, 64000) | json_values,
    "system": short_text | st.lists(blocks, max_size=2) | json_values,
    "tools": tools, "tool_choice": tool_choices | json_values, "thinking": thinking | json_values,
    "output_config": st.fixed_dictionaries({}, optional={"effort": json_values}) | json_values,
    **{name: json_values for name in ("stream", "temperature", "top_p", "top_k", "stop_sequences", "metadata")}})


@settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(data=requests | json_values, reasoning=st.booleans())
def test_generated_requests_are_translated_or_refused_with_a_400(data, reasoning):
    try:
        checked = messages_request_check(data)
        chat = request_to_chat(checked, reasoning=reasoning)
    except errors.InvalidRequest as refused:
        assert refused.status_code == 400 and refused.message
        return
    json.dumps(chat)
    assert count_tokens_estimate(checked) >= 0


call_pieces = st.fixed_dictionaries({}, optional={
    "index": st.integers(0, 2) | json_values, "id": st.sampled_from(["call_1", "call_2"]) | json_values,
    "function": st.fixed_dictionaries({}, optional={"name": json_values, "arguments": short_text | json_values})
    | json_values})
deltas = st.fixed_dictionaries({}, optional={"content": short_text | json_values, "refusal": json_values,
                                             "tool_calls": st.lists(call_pieces, max_size=2) | json_values})
finish_reasons = st.sampled_from([None, "stop", "length", "tool_calls", "content_filter"]) | json_values
chat_chunks = st.builds(chunk, deltas | json_values, finish_reasons) | json_values


@settings(max_examples=500, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(chunks=st.lists(chat_chunks, max_size=6))
def test_generated_chat_streams_always_make_valid_events(chunks):
    translator = ChatStreamToMessages("gpt-4o")
    stream = b"".join(translator.feed(c) for c in chunks) + translator.finish()
    for event in events(stream):
        if event["type"] != "ping":
            events_adapter.validate_python(event)


replies = st.fixed_dictionaries({}, optional={"content": json_values, "refusal": json_values,
                                              "tool_calls": st.lists(call_pieces, max_size=2) | json_values})
choices = st.fixed_dictionaries({}, optional={"message": replies | json_values, "finish_reason": finish_reasons,
                                              "stop_reason": json_values})
completions = st.fixed_dictionaries({"choices": st.lists(choices | json_values, max_size=2) | json_values},
                                    optional={"usage": json_values, "id": json_values})


@settings(max_examples=500, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(completion=completions)
def test_generated_completions_make_valid_messages_or_an_upstream_error(completion):
    try:
        types.Message.model_validate(chat_to_message(completion, model="gpt-4o"))
    except errors.UpstreamError:
        pass
