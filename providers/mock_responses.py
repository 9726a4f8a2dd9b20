"""Deterministic answers of OpenAI's Responses API: the response object, its stream events, its input items.

The answer is planned as chat's (mock_answers.plan) from the conversation as chat messages: the stored
history of `previous_response_id`, then `instructions`, then the input items. Usage follows the model-name
conventions of mock_answers (cached and reasoning tokens); a reasoning model's output starts with a
reasoning item. Offered `function` or `custom` tools are called as chat's are; other tools are ignored.
Item ids derive from the response's id, so one response always reads the same.
"""

import hashlib

import orjson

from . import mock_answers

CALLABLE_TOOLS = {"function", "custom"}
CALL_ITEMS = {"function_call", "custom_tool_call"}
RESULT_ITEMS = {"function_call_output", "custom_tool_call_output"}


def _as_message(item) -> dict | None:
    """An input item as a chat message (what the mock reads of it), or None for items it ignores."""
    if isinstance(item, str):
        return {"role": "user", "content": item}
    kind = item.get("type", "message")
    if kind == "message":
        role = item["role"]
        return {"role": "system" if role == "developer" else role, "content": item["content"]}
    if kind in CALL_ITEMS:
        return {"role": "assistant", "content": item.get("arguments", item.get("input", ""))}
    if kind in RESULT_ITEMS:
        return {"role": "tool", "content": item["output"]}
    return None


def _items(request: dict) -> list:
    given = request.get("input", [])
    items = [given] if isinstance(given, str) else given
    if not isinstance(items, list):
        raise TypeError("input must be a string or a list of items")
    return items


def input_messages(request: dict) -> list[dict]:
    return [message for message in map(_as_message, _items(request)) if message]


def _called_tool(request: dict) -> dict | None:
    tools = [tool for tool in request.get("tools") or [] if tool.get("type") in CALLABLE_TOOLS]
    choice = request.get("tool_choice", "auto")
    if not tools or choice == "none":
        return None
    if isinstance(choice, dict) and choice.get("type") in CALLABLE_TOOLS:
        return {tool["name"]: tool for tool in tools}[choice["name"]]
    return tools[0]


def _suffix(response_id: str) -> str:
    return response_id.removeprefix("resp_")


def _output(request: dict, answer: mock_answers.Answer, tool: dict | None, reasoning: int, suffix: str) -> list[dict]:
    output = []
    if reasoning:
        item = {"id": f"rs_{suffix}", "type": "reasoning", "summary": []}
        if "reasoning.encrypted_content" in (request.get("include") or []):
            item["encrypted_content"] = hashlib.sha256(suffix.encode()).hexdigest()
        output.append(item)
    if answer.call and tool["type"] == "custom":
        text = orjson.loads(answer.call["arguments"])["text"]
        output.append({"id": f"ctc_{suffix}", "type": "custom_tool_call", "status": "completed",
                       "call_id": f"call_{suffix}", "input": text, "name": tool["name"]})
    elif answer.call:
        output.append({"id": f"fc_{suffix}", "type": "function_call", "status": "completed",
                       "arguments": answer.call["arguments"], "call_id": f"call_{suffix}", "name": tool["name"]})
    else:
        status = "incomplete" if answer.finish_reason == "length" else "completed"
        part = {"type": "output_text", "annotations": [], "logprobs": [], "text": "".join(answer.tokens)}
        output.append({"id": f"msg_{suffix}", "type": "message", "status": status, "content": [part], "role": "assistant"})
    return output


def _tools(request: dict) -> list[dict]:
    """The tools as OpenAI echoes them: function tools with `strict` and `parameters` filled in."""
    defaults = {"function": {"description": None, "parameters": None, "strict": True}}
    return [{**defaults.get(tool.get("type"), {}), **tool} for tool in request.get("tools") or []]


def response(request: dict, *, response_id: str, created_at: int, history: list[dict] = (), length: int | None = None) -> dict:
    """The finished response object for `request`, continuing the chat messages of `history`."""
    model = request["model"]
    instructions = request.get("instructions")
    messages = ([{"role": "system", "content": instructions}] if instructions else []) + list(history) + input_messages(request)
    tool = _called_tool(request)
    chat_like = {"model": model, "messages": messages, "max_tokens": request.get("max_output_tokens"),
                 "tools": [{"type": "function", "function": {"name": tool["name"]}}] if tool else None}
    answer = mock_answers.plan(chat_like, length)
    reasoning = mock_answers.reasoning_tokens(model)
    prompt, output_tokens = mock_answers.prompt_tokens(chat_like), answer.completion_tokens + reasoning
    incomplete = answer.finish_reason == "length"
    effort = (request.get("reasoning") or {}).get("effort") or ("medium" if reasoning else None)
    return {
        "id": response_id, "object": "response", "created_at": created_at,
        "status": "incomplete" if incomplete else "completed",
        "background": bool(request.get("background")), "completed_at": None if incomplete else created_at,
        "error": None, "incomplete_details": {"reason": "max_output_tokens"} if incomplete else None,
        "instructions": instructions, "max_output_tokens": request.get("max_output_tokens"),
        "max_tool_calls": request.get("max_tool_calls"), "model": model,
        "output": _output(request, answer, tool, reasoning, _suffix(response_id)),
        "parallel_tool_calls": request.get("parallel_tool_calls", True),
        "previous_response_id": request.get("previous_response_id"),
        "prompt_cache_key": request.get("prompt_cache_key"),
        "reasoning": {"effort": effort, "summary": (request.get("reasoning") or {}).get("summary")},
        "safety_identifier": request.get("safety_identifier"), "service_tier": mock_answers.service_tier(request),
        "store": request.get("store", True), "temperature": request.get("temperature", 1.0),
        "text": request.get("text") or {"format": {"type": "text"}, "verbosity": "medium"},
        "tool_choice": request.get("tool_choice", "auto"), "tools": _tools(request),
        "top_logprobs": request.get("top_logprobs", 0), "top_p": request.get("top_p", 1.0),
        "truncation": request.get("truncation") or "disabled",
        "usage": {
            "input_tokens": prompt,
            "input_tokens_details": {"cached_tokens": mock_answers.cached_tokens(model, prompt), "cache_write_tokens": 0},
            "output_tokens": output_tokens, "output_tokens_details": {"reasoning_tokens": reasoning},
            "total_tokens": prompt + output_tokens,
        },
        "metadata": request.get("metadata") or {},
        **({"user": request["user"]} if isinstance(request.get("user"), str) else {}),
    }


def history(request: dict, answer: dict, previous: list[dict] = ()) -> list[dict]:
    """The conversation a later `previous_response_id` continues: without instructions, as OpenAI keeps it."""
    outputs = [_as_message(item) if item["type"] in CALL_ITEMS else
               {"role": "assistant", "content": item["content"]}
               for item in answer["output"] if item["type"] in CALL_ITEMS or item["type"] == "message"]
    return list(previous) + input_messages(request) + outputs


def input_items(request: dict, *, response_id: str) -> list[dict]:
    """The input as the items `GET /v1/responses/{id}/input_items` lists, each with an id, oldest first."""
    listed = []
    for index, item in enumerate(_items(request)):
        item = {"type": "message", "role": "user", "content": item} if isinstance(item, str) else item
        item = {"type": "message", **item} if "role" in item else dict(item)
        if item["type"] == "message" and isinstance(item["content"], str):
            kind = "output_text" if item["role"] == "assistant" else "input_text"
            extra = {"annotations": [], "logprobs": []} if kind == "output_text" else {}
            item["content"] = [{"type": kind, "text": item["content"], **extra}]
        prefix = {"message": "msg", "function_call": "fc", "function_call_output": "fco"}.get(item["type"], "item")
        listed.append({"id": f"{prefix}_{_suffix(response_id)}_{index}", "status": "completed", **item})
    return listed


def unfinished(answer: dict, status: str) -> dict:
    """The response as it reads before it is done: no output, and no usage (OpenAI's examples show a null
    that its schema does not allow)."""
    started = {**answer, "status": status, "completed_at": None, "incomplete_details": None, "output": []}
    del started["usage"]
    return started


def events(answer: dict, *, obfuscate: bool = True) -> list[dict]:
    """The stream that builds the finished response `answer`: typed events numbered from 0."""
    started = unfinished(answer, "in_progress")
    stream = [{"type": "response.created", "response": started}, {"type": "response.in_progress", "response": started}]
    for index, item in enumerate(answer["output"]):
        stream += _item_events(index, item, obfuscate)
    stream.append({"type": f"response.{answer['status']}", "response": answer})
    return [{**event, "sequence_number": number} for number, event in enumerate(stream)]


def _delta(event: dict, obfuscate: bool) -> dict:
    """A delta event, padded as OpenAI pads them so that their sizes do not reveal the text."""
    return {**event, "obfuscation": "x" * (16 - len(event["delta"]) % 16)} if obfuscate else event


def _item_events(index: int, item: dict, obfuscate: bool) -> list[dict]:
    at = {"item_id": item["id"], "output_index": index}
    kind = item["type"]
    if kind == "message":
        part = item["content"][0]
        at_part = {**at, "content_index": 0}
        deltas = [_delta({"type": "response.output_text.delta", **at_part, "delta": token, "logprobs": []}, obfuscate)
                  for token in mock_answers.split_tokens(part["text"])]
        return [
            {"type": "response.output_item.added", "output_index": index,
             "item": {**item, "status": "in_progress", "content": []}},
            {"type": "response.content_part.added", **at_part, "part": {**part, "text": ""}},
            *deltas,
            {"type": "response.output_text.done", **at_part, "text": part["text"], "logprobs": []},
            {"type": "response.content_part.done", **at_part, "part": part},
            {"type": "response.output_item.done", "output_index": index, "item": item},
        ]
    if kind == "function_call":
        started = {**item, "status": "in_progress", "arguments": ""}
        middle = [_delta({"type": "response.function_call_arguments.delta", **at, "delta": item["arguments"]}, obfuscate),
                  {"type": "response.function_call_arguments.done", **at, "name": item["name"], "arguments": item["arguments"]}]
    elif kind == "custom_tool_call":
        started = {**item, "status": "in_progress", "input": ""}
        middle = [_delta({"type": "response.custom_tool_call_input.delta", **at, "delta": item["input"]}, obfuscate),
                  {"type": "response.custom_tool_call_input.done", **at, "input": item["input"]}]
    else:  # reasoning: nothing streams but the item itself
        started, middle = item, []
    return [{"type": "response.output_item.added", "output_index": index, "item": started}, *middle,
            {"type": "response.output_item.done", "output_index": index, "item": item}]
