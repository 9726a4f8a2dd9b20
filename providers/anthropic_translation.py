"""OpenAI chat requests to Anthropic's Messages API and back, as plain dicts (no network here).

Parameters with no Anthropic equivalent are refused with a 400 naming them, never dropped silently.
"""

import json
import time

from gateway.errors import InvalidRequest

DEFAULT_MAX_TOKENS = 4096  # Anthropic requires max_tokens; OpenAI does not
FINISH_REASONS = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "tool_use": "tool_calls",
                  "refusal": "content_filter", "pause_turn": "stop"}
TOOL_CHOICES = {"auto": {"type": "auto"}, "required": {"type": "any"}, "none": {"type": "none"}}


def _refuse_unsupported(request: dict) -> None:
    unsupported = {
        "n": (request.get("n") or 1) > 1,
        "logprobs": bool(request.get("logprobs")),
        "top_logprobs": request.get("top_logprobs") is not None,
        "logit_bias": bool(request.get("logit_bias")),
        "presence_penalty": bool(request.get("presence_penalty")),
        "frequency_penalty": bool(request.get("frequency_penalty")),
        "seed": request.get("seed") is not None,
        "functions": "functions" in request,
        "function_call": "function_call" in request,
        "response_format": (request.get("response_format") or {"type": "text"}).get("type") != "text",
    }
    for param, present in unsupported.items():
        if present:
            raise InvalidRequest(f"'{param}' is not supported by Anthropic models.", param=param)


def _text(content) -> str:
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return content or ""


def _content_blocks(content) -> list[dict]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    blocks = []
    for part in content or []:
        if part.get("type") == "text":
            blocks.append({"type": "text", "text": part["text"]})
        elif part.get("type") == "image_url":
            blocks.append({"type": "image", "source": {"type": "url", "url": part["image_url"]["url"]}})
    return blocks


def _message(message: dict) -> tuple[str, list[dict]]:
    """(role, content blocks) of one OpenAI message, other than a system message."""
    if message["role"] == "tool":
        return "user", [{"type": "tool_result", "tool_use_id": message["tool_call_id"], "content": _text(message.get("content"))}]
    blocks = _content_blocks(message.get("content"))
    for call in message.get("tool_calls") or []:
        arguments = call["function"].get("arguments") or "{}"
        blocks.append({"type": "tool_use", "id": call["id"], "name": call["function"]["name"], "input": json.loads(arguments)})
    return message["role"], blocks


def request_to_anthropic(request: dict) -> dict:
    """Keyword arguments for `messages.create` from an OpenAI chat request."""
    _refuse_unsupported(request)
    system = [_text(m.get("content")) for m in request["messages"] if m["role"] in ("system", "developer")]
    messages = []
    for message in request["messages"]:
        if message["role"] in ("system", "developer"):
            continue
        role, blocks = _message(message)
        if messages and messages[-1]["role"] == role:  # Anthropic wants turns to alternate
            messages[-1]["content"] += blocks
        else:
            messages.append({"role": role, "content": blocks})
    kwargs = {
        "model": request["model"],
        "messages": messages,
        "max_tokens": request.get("max_completion_tokens") or request.get("max_tokens") or DEFAULT_MAX_TOKENS,
    }
    if system:
        kwargs["system"] = "\n\n".join(system)
    for name in ("temperature", "top_p"):
        if request.get(name) is not None:
            if type(request[name]) not in (int, float):
                raise InvalidRequest(f"'{name}' must be a number.", param=name)
            kwargs[name] = request[name]
    stop = request.get("stop")
    if stop:
        kwargs["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
    if request.get("tools"):
        kwargs["tools"] = [
            {"name": tool["function"]["name"], "description": tool["function"].get("description", ""),
             "input_schema": tool["function"].get("parameters") or {"type": "object", "properties": {}}}
            for tool in request["tools"]
        ]
    choice = request.get("tool_choice")
    if isinstance(choice, str) and choice in TOOL_CHOICES:
        kwargs["tool_choice"] = TOOL_CHOICES[choice]
    elif isinstance(choice, dict):
        kwargs["tool_choice"] = {"type": "tool", "name": choice["function"]["name"]}
    if request.get("user"):
        kwargs["metadata"] = {"user_id": request["user"]}
    return kwargs


def usage_to_openai(usage: dict) -> dict:
    cached, created = usage.get("cache_read_input_tokens") or 0, usage.get("cache_creation_input_tokens") or 0
    prompt = (usage.get("input_tokens") or 0) + cached + created
    completion = usage.get("output_tokens") or 0
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": cached, "cache_write_tokens": created}}


def message_to_completion(message: dict) -> dict:
    text = "".join(block["text"] for block in message["content"] if block["type"] == "text")
    calls = [
        {"id": block["id"], "type": "function",
         "function": {"name": block["name"], "arguments": json.dumps(block["input"])}}
        for block in message["content"] if block["type"] == "tool_use"
    ]
    reply = {"role": "assistant", "content": text or (None if calls else ""), "refusal": None}
    if calls:
        reply["tool_calls"] = calls
    return {
        "id": f"chatcmpl-{message['id']}", "object": "chat.completion", "created": int(time.time()),
        "model": message["model"],
        "choices": [{"index": 0, "message": reply, "logprobs": None,
                     "finish_reason": FINISH_REASONS.get(message.get("stop_reason"), "stop")}],
        "usage": usage_to_openai(message["usage"]),
    }


class StreamTranslator:
    """Turns Anthropic's stream events into OpenAI chunks, one event at a time."""

    def __init__(self, *, include_usage: bool):
        self.include_usage = include_usage
        self.id = self.model = ""
        self.created = int(time.time())
        self.usage = {}
        self.tool_blocks = {}  # Anthropic block index -> OpenAI tool call index

    def _chunk(self, delta: dict, finish_reason=None) -> dict:
        chunk = {"id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model,
                 "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}]}
        if self.include_usage:
            chunk["usage"] = None
        return chunk

    def chunks(self, event: dict) -> list[dict]:
        kind = event["type"]
        if kind == "message_start":
            message = event["message"]
            self.id, self.model = f"chatcmpl-{message['id']}", message["model"]
            self.usage.update(message.get("usage") or {})
            return [self._chunk({"role": "assistant", "content": ""})]
        if kind == "content_block_start" and event["content_block"]["type"] == "tool_use":
            block, index = event["content_block"], len(self.tool_blocks)
            self.tool_blocks[event["index"]] = index
            call = {"index": index, "id": block["id"], "type": "function", "function": {"name": block["name"], "arguments": ""}}
            return [self._chunk({"tool_calls": [call]})]
        if kind == "content_block_delta":
            delta = event["delta"]
            if delta["type"] == "text_delta":
                return [self._chunk({"content": delta["text"]})]
            if delta["type"] == "input_json_delta":
                call = {"index": self.tool_blocks[event["index"]], "function": {"arguments": delta["partial_json"]}}
                return [self._chunk({"tool_calls": [call]})]
        if kind == "message_delta":
            self.usage.update({k: v for k, v in (event.get("usage") or {}).items() if v is not None})
            return [self._chunk({}, FINISH_REASONS.get(event["delta"].get("stop_reason"), "stop"))]
        if kind == "message_stop" and self.include_usage:
            return [{**self._chunk({}), "choices": [], "usage": usage_to_openai(self.usage)}]
        return []
