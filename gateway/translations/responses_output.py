"""The Responses API's `response` object and its output items, built from what a chat completion said."""

import time
import uuid

INCOMPLETE = {"length": "max_output_tokens", "content_filter": "content_filter"}  # chat finish_reason: reason


def base_id(chat_id) -> str:
    """The part of a chat completion's id that the response's and its items' ids share."""
    return str(chat_id or "").removeprefix("chatcmpl-") or uuid.uuid4().hex


def text_part(text: str) -> dict:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def message_item(base: str, position: int, text: str, refusal=None, status="completed") -> dict:
    parts = [text_part(text)] if text or not refusal else []
    if refusal:
        parts.append({"type": "refusal", "refusal": refusal})
    item_id = f"msg_{base}" if position == 0 else f"msg_{base}_{position}"
    return {"id": item_id, "type": "message", "status": status, "role": "assistant", "content": parts}


def call_item(call_id: str, name: str, arguments: str, status="completed") -> dict:
    return {"id": f"fc_{call_id.removeprefix('call_')}", "type": "function_call", "status": status,
            "arguments": arguments, "call_id": call_id, "name": name}


def _usage(usage: dict) -> dict:
    prompt, completion = usage.get("prompt_tokens") or 0, usage.get("completion_tokens") or 0
    prompt_details = usage.get("prompt_tokens_details") or {}
    completion_details = usage.get("completion_tokens_details") or {}
    return {
        "input_tokens": prompt,
        "input_tokens_details": {"cached_tokens": prompt_details.get("cached_tokens") or 0,
                                 "cache_write_tokens": prompt_details.get("cache_write_tokens") or 0},
        "output_tokens": completion,
        "output_tokens_details": {"reasoning_tokens": completion_details.get("reasoning_tokens") or 0},
        "total_tokens": usage.get("total_tokens") or prompt + completion,
    }


def _echoed_tool(tool: dict) -> dict:
    return {"type": "function", "name": tool["name"], "description": tool.get("description"),
            "parameters": tool.get("parameters"), "strict": tool.get("strict")}


def response_object(request: dict, *, base, created, model, output, finish_reason=None, usage=None, done=True) -> dict:
    """The `response` object, finished or (`done` false) in progress, echoing the request's settings as OpenAI does."""
    reason = INCOMPLETE.get(finish_reason) if done else None
    if reason and output:
        output[-1]["status"] = "incomplete"
    status = "incomplete" if reason else "completed" if done else "in_progress"
    reasoning = request.get("reasoning") or {}
    text = request.get("text") or {}
    response = {
        "id": f"resp_{base}", "object": "response", "created_at": created or int(time.time()), "status": status,
        "completed_at": int(time.time()) if status == "completed" else None, "error": None,
        "incomplete_details": {"reason": reason} if reason else None,
        "instructions": request.get("instructions"), "max_output_tokens": request.get("max_output_tokens"),
        "model": model or request.get("model"), "output": output,
        "parallel_tool_calls": request.get("parallel_tool_calls", True), "previous_response_id": None,
        "reasoning": {"effort": reasoning.get("effort"), "summary": reasoning.get("summary")}, "store": False,
        "temperature": request.get("temperature", 1.0),
        "text": {"format": text.get("format") or {"type": "text"}, "verbosity": text.get("verbosity", "medium")},
        "tool_choice": request.get("tool_choice", "auto"),
        "tools": [_echoed_tool(tool) for tool in request.get("tools") or []],
        "top_p": request.get("top_p", 1.0), "truncation": request.get("truncation", "disabled"),
        "metadata": request.get("metadata") or {},
    }
    if usage:
        response["usage"] = _usage(usage)
    if request.get("user") is not None:
        response["user"] = request["user"]
    return response
