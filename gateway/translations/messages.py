"""Anthropic's Messages API in front of an OpenAI-format model: a checked request (messages_check.py) becomes a
chat completion request, and the answer and its stream become Anthropic's (its errors: anthropic_errors.py).

Fields that steer only Claude's own features (cache_control, context_management, top_k, a tool's
defer_loading, thinking blocks of earlier turns) are dropped on the way: Claude Code always sends them,
and they mean nothing to another model. What cannot be done without Claude (server tools, Files API
ids) is refused with a 400 that names it.
"""

import hashlib
import json
import math
import uuid

import orjson

from gateway.errors import UpstreamError

from .messages_check import fail

STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use", "function_call": "tool_use",
                "content_filter": "refusal"}
TOOL_CHOICES = {"auto": "auto", "any": "required", "none": "none"}
EFFORTS = {"low": "low", "medium": "medium", "high": "high", "xhigh": "high", "max": "high"}
USER_MAX = 64  # OpenAI refuses a longer `user`; Claude Code's user_id is a JSON object of about 150 characters
CHARS_PER_TOKEN = 4
IMAGE_TOKENS = 1600  # what Anthropic charges for an image of the largest size it keeps unscaled


def _joined(blocks) -> str:
    """The text of a string or of a list of blocks, text blocks only."""
    if isinstance(blocks, str):
        return blocks
    return "\n\n".join(block["text"] for block in blocks if block["type"] == "text")


def _part(block: dict, path: str) -> dict:
    """An OpenAI content part for a text, image or document block."""
    kind = block["type"]
    if kind == "text":
        return {"type": "text", "text": block["text"]}
    source = block["source"] if kind in ("image", "document") else {}
    if source.get("type") == "base64" and kind in ("image", "document"):
        url = f"data:{source['media_type']};base64,{source['data']}"
        if kind == "image":
            return {"type": "image_url", "image_url": {"url": url}}
        return {"type": "file", "file": {"filename": block.get("title") or "document.pdf", "file_data": url}}
    if kind == "image" and source.get("type") == "url":
        return {"type": "image_url", "image_url": {"url": source["url"]}}
    if kind == "document" and source.get("type") == "text":
        return {"type": "text", "text": source["data"]}
    described = f"a '{kind}' block" + (f" with a {source.get('type')!r} source" if source else "")
    fail(path, f"{described} can only be sent to an Anthropic model.")


def _user_messages(blocks: list, path: str) -> list[dict]:
    """Tool results first, as role tool messages in order; the rest (images of tool results too) as one user message."""
    results, parts = [], []
    for index, block in enumerate(blocks):
        where = f"{path}.{index}"
        if block["type"] in ("thinking", "redacted_thinking"):
            continue
        if block["type"] != "tool_result":
            parts.append(_part(block, where))
            continue
        content = block.get("content") or ""
        text = content if isinstance(content, str) else _joined(content)
        if not isinstance(content, str):
            parts += [_part(inner, f"{where}.content.{i}") for i, inner in enumerate(content)
                      if inner["type"] != "text"]
        if block.get("is_error"):
            text = f"Error: {text}"
        results.append({"role": "tool", "tool_call_id": block["tool_use_id"], "content": text})
    if not parts:
        return results
    if all(part["type"] == "text" for part in parts):  # a plain string suits every OpenAI-compatible server
        return results + [{"role": "user", "content": "\n\n".join(part["text"] for part in parts)}]
    return results + [{"role": "user", "content": parts}]


def _assistant_message(blocks: list, path: str) -> dict:
    calls = []
    for index, block in enumerate(blocks):
        if block["type"] == "tool_use":
            arguments = json.dumps(block["input"], ensure_ascii=False, separators=(",", ":"))
            function = {"name": block["name"], "arguments": arguments}
            calls.append({"id": block["id"], "type": "function", "function": function})
        elif block["type"] not in ("text", "thinking", "redacted_thinking"):
            _part(block, f"{path}.{index}")  # refuses server tool blocks and the like
    text = _joined(blocks)
    message = {"role": "assistant", "content": text or (None if calls else "")}
    if calls:
        message["tool_calls"] = calls
    return message


def _chat_messages(data: dict) -> list[dict]:
    messages = [{"role": "system", "content": _joined(data["system"])}] if data.get("system") else []
    for index, message in enumerate(data["messages"]):
        role, content, path = message["role"], message["content"], f"messages.{index}.content"
        if isinstance(content, str) or role == "system":
            messages.append({"role": role, "content": _joined(content)})
        elif role == "assistant":
            messages.append(_assistant_message(content, path))
        else:
            messages += _user_messages(content, path)
    return messages


def _function_tool(tool: dict, index: int) -> dict:
    if tool.get("type") not in (None, "custom"):
        fail(f"tools.{index}.type", f"Anthropic's server tool '{tool['type']}' can only run on an Anthropic model.")
    function = {"name": tool["name"], "parameters": tool["input_schema"]}
    if isinstance(tool.get("description"), str):
        function["description"] = tool["description"]
    return {"type": "function", "function": function}


def _reasoning_effort(data: dict) -> str | None:
    thinking, effort = data.get("thinking") or {}, (data.get("output_config") or {}).get("effort")
    effort = effort if isinstance(effort, str) else None
    if thinking.get("type") == "enabled":
        budget = thinking["budget_tokens"]  # Claude Code's think, think hard and ultrathink: 4000, 10000, 31999
        return "low" if budget < 8192 else "medium" if budget < 16384 else "high"
    if thinking.get("type") == "adaptive" or (effort and thinking.get("type") != "disabled"):
        return EFFORTS.get(effort, "medium")
    return None


def request_to_chat(data: dict, *, reasoning: bool = False) -> dict:
    """An OpenAI chat completion request from a checked Messages request; `reasoning`: the model takes
    reasoning_effort (and max_completion_tokens, as OpenAI's reasoning models require)."""
    chat = {"model": data["model"], "messages": _chat_messages(data)}
    if data.get("max_tokens") is not None:
        chat["max_completion_tokens" if reasoning else "max_tokens"] = data["max_tokens"]
    for name in ("temperature", "top_p"):
        if data.get(name) is not None:
            chat[name] = data[name]
    if data.get("stop_sequences"):
        chat["stop"] = data["stop_sequences"]
    if data.get("tools"):
        chat["tools"] = [_function_tool(tool, index) for index, tool in enumerate(data["tools"])]
        choice = data.get("tool_choice") or {}
        if choice.get("type") == "tool":
            chat["tool_choice"] = {"type": "function", "function": {"name": choice["name"]}}
        elif choice.get("type") in TOOL_CHOICES:
            chat["tool_choice"] = TOOL_CHOICES[choice["type"]]
        if choice.get("disable_parallel_tool_use"):
            chat["parallel_tool_calls"] = False
    user = (data.get("metadata") or {}).get("user_id")
    if user:
        chat["user"] = user if len(user) <= USER_MAX else hashlib.sha256(user.encode()).hexdigest()
    effort = _reasoning_effort(data) if reasoning else None
    if effort:
        chat["reasoning_effort"] = effort
    if data.get("stream"):
        chat["stream"] = True
        chat["stream_options"] = {"include_usage": True}
    return chat


def _count(value) -> int:
    return value if type(value) is int and value > 0 else 0


def _usage(usage) -> dict:
    """Anthropic's usage from a chat usage: cached prompt tokens are read from the cache, not input."""
    usage = usage if isinstance(usage, dict) else {}
    details = usage.get("prompt_tokens_details")
    cached = _count(details.get("cached_tokens")) if isinstance(details, dict) else 0
    return {"input_tokens": max(_count(usage.get("prompt_tokens")) - cached, 0), "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": cached, "output_tokens": _count(usage.get("completion_tokens"))}


def _stop(choice: dict, called: bool) -> tuple[str, str | None]:
    """(stop_reason, stop_sequence); only vLLM says which stop sequence matched, in the choice's stop_reason."""
    finish = choice.get("finish_reason")
    if called and finish != "length":
        return "tool_use", None
    if finish == "stop" and isinstance(choice.get("stop_reason"), str):
        return "stop_sequence", choice["stop_reason"]
    return STOP_REASONS.get(finish if isinstance(finish, str) else None, "end_turn"), None


def _arguments(raw) -> dict:
    """A tool call's arguments as the input object Anthropic sends; what is not one is kept under a key."""
    if isinstance(raw, dict):
        return raw
    if not isinstance(raw, str) or not raw.strip():
        return {}
    try:
        parsed = json.loads(raw)
    except ValueError:
        parsed = None
    return parsed if isinstance(parsed, dict) else {"_invalid_arguments": raw}


def _call_fields(call: dict) -> tuple[str | None, str, object]:
    """(id, name, arguments) of an OpenAI tool call or a stream's piece of one, whatever the upstream put there."""
    function = call.get("function") if isinstance(call.get("function"), dict) else {}
    call_id, name = call.get("id"), function.get("name")
    call_id = call_id if isinstance(call_id, str) and call_id else None
    return call_id, name if isinstance(name, str) else "", function.get("arguments")


def _new_id(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:24]}"


def _first_choice(answer: dict) -> dict:
    choices = answer.get("choices") if isinstance(answer, dict) else None
    if not isinstance(choices, list):
        raise UpstreamError()
    return choices[0] if choices and isinstance(choices[0], dict) else {}


def _message_id(answer: dict) -> str:
    return f"msg_{answer['id']}" if isinstance(answer.get("id"), str) and answer["id"] else _new_id("msg_")


def chat_to_message(completion: dict, *, model: str) -> dict:
    """The message Anthropic would have answered, from an OpenAI chat completion; `model` is the one asked for."""
    choice = _first_choice(completion)
    reply = choice.get("message") if isinstance(choice.get("message"), dict) else {}
    content = [{"type": "text", "text": text} for text in (reply.get("content"), reply.get("refusal"))
               if isinstance(text, str) and text]
    calls = reply.get("tool_calls") if isinstance(reply.get("tool_calls"), list) else []
    for call_id, name, arguments in (_call_fields(call) for call in calls if isinstance(call, dict)):
        tool_id = call_id or _new_id("toolu_")
        content.append({"type": "tool_use", "id": tool_id, "name": name, "input": _arguments(arguments)})
    stop_reason, stop_sequence = _stop(choice, any(block["type"] == "tool_use" for block in content))
    return {"id": _message_id(completion), "type": "message", "role": "assistant", "model": model, "content": content,
            "stop_reason": stop_reason, "stop_sequence": stop_sequence, "usage": _usage(completion.get("usage"))}


def _event(kind: str, **fields) -> bytes:
    return b"event: " + kind.encode() + b"\ndata: " + orjson.dumps({"type": kind, **fields}) + b"\n\n"


class ChatStreamToMessages:
    """Anthropic's event stream from an OpenAI chat stream: `feed` each parsed chunk, `finish` after [DONE].

    One content block is open at a time (text, or one per tool call, indexes increasing); `usage` is the
    chat usage chunk's, for the gateway's own accounting.
    """

    def __init__(self, model: str):
        self.model = model
        self.usage = None
        self._started = False
        self._index = -1  # the last content block's
        self._open = None  # "text", a tool call's (index, id), or None
        self._calls = {}  # OpenAI tool call index -> (its block index, its id)
        self._choice = {}  # the choice that had the finish_reason

    def _start(self, chunk: dict) -> list[bytes]:
        self._started = True
        message = {"id": _message_id(chunk), "type": "message", "role": "assistant", "model": self.model, "content": [],
                   "stop_reason": None, "stop_sequence": None, "usage": _usage(self.usage)}
        return [_event("message_start", message=message), _event("ping")]

    def _close(self) -> list[bytes]:
        if self._open is None:
            return []
        self._open = None
        return [_event("content_block_stop", index=self._index)]

    def _open_block(self, block: dict, key) -> list[bytes]:
        events = self._close()
        self._index += 1
        self._open = key
        return events + [_event("content_block_start", index=self._index, content_block=block)]

    def _tool_call(self, call) -> list[bytes]:
        if not isinstance(call, dict):
            return []
        call_id, name, arguments = _call_fields(call)
        key = call.get("index") if type(call.get("index")) is int else 0
        events, known = [], self._calls.get(key)
        if known is None or (call_id and call_id != known[1]):  # a new call (some servers reuse index 0)
            block = {"type": "tool_use", "id": call_id or _new_id("toolu_"), "name": name, "input": {}}
            events = self._open_block(block, (key, call_id))
            known = self._calls[key] = (self._index, call_id)
        if isinstance(arguments, str) and arguments:
            delta = {"type": "input_json_delta", "partial_json": arguments}
            events.append(_event("content_block_delta", index=known[0], delta=delta))
        return events

    def feed(self, chunk: dict) -> bytes:
        if not isinstance(chunk, dict):
            return b""
        if isinstance(chunk.get("error"), dict | str):  # vLLM and others report a failure mid-stream so
            message = chunk["error"].get("message") if isinstance(chunk["error"], dict) else chunk["error"]
            raise UpstreamError(message if isinstance(message, str) else None)
        if isinstance(chunk.get("usage"), dict):
            self.usage = chunk["usage"]
        events = [] if self._started else self._start(chunk)
        choice = _first_choice(chunk) if isinstance(chunk.get("choices"), list) else {}
        delta = choice.get("delta") if isinstance(choice.get("delta"), dict) else {}
        for text in (delta.get("content"), delta.get("refusal")):
            if isinstance(text, str) and text:
                if self._open != "text":
                    events += self._open_block({"type": "text", "text": ""}, "text")
                delta_event = {"type": "text_delta", "text": text}
                events.append(_event("content_block_delta", index=self._index, delta=delta_event))
        for call in delta.get("tool_calls") if isinstance(delta.get("tool_calls"), list) else []:
            events += self._tool_call(call)
        if choice.get("finish_reason"):
            self._choice = choice
            events += self._close()
        return b"".join(events)

    def finish(self) -> bytes:
        events = ([] if self._started else self._start({})) + self._close()
        stop_reason, stop_sequence = _stop(self._choice, bool(self._calls))
        events.append(_event("message_delta", delta={"stop_reason": stop_reason, "stop_sequence": stop_sequence},
                             usage=_usage(self.usage)))
        events.append(_event("message_stop"))
        return b"".join(events)


def count_tokens_estimate(data: dict) -> int:
    """About the input tokens of a checked request for a model that is not Claude: four characters of text
    (tool schemas too) per token, 1600 per image or document, and four per message for its framing."""
    characters = images = 0
    pending = [data.get("system"), data["messages"], data.get("tools")]
    while pending:  # a loop, not recursion: a tool's input may nest deeper than Python's stack
        value = pending.pop()
        if isinstance(value, str):
            characters += len(value)
        elif isinstance(value, list):
            pending += value
        elif isinstance(value, dict) and value.get("type") in ("image", "document"):
            images += 1
        elif isinstance(value, dict):
            characters += sum(len(key) for key in value if key not in ("type", "cache_control"))
            pending += [item for key, item in value.items() if key not in ("type", "cache_control")]
    return math.ceil(characters / CHARS_PER_TOKEN) + images * IMAGE_TOKENS + 4 * len(data["messages"])
