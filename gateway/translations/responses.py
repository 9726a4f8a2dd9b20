"""OpenAI's Responses API spoken to a provider that only knows chat completions: the request, the answer, the stream.

Only the stateless subset translates. What needs OpenAI's storage or its built-in tools is refused with a 400
naming the parameter, never dropped silently; options that only shape OpenAI's own extras (`include`,
`truncation`, reasoning summaries) have nothing to act on and are ignored.
"""

import time
import uuid

import orjson

from gateway.errors import InvalidRequest

from .responses_input import chat_messages, invalid, string

PASSED_ON = ("model", "temperature", "top_p", "user", "metadata", "parallel_tool_calls", "prompt_cache_key",
             "safety_identifier", "service_tier")
STATEFUL = {  # parameter: (does the value ask for state?, what to do instead)
    "previous_response_id": (lambda v: v is not None, "send the whole conversation in 'input' instead"),
    "conversation": (lambda v: v is not None, "send the whole conversation in 'input' instead"),
    "store": (lambda v: v is True, "send 'store': false"),
    "background": (lambda v: v is True, "wait for the answer or stream it"),
    "prompt": (lambda v: v is not None, "send the instructions and input themselves"),
}
TOOL_CHOICES = ("auto", "none", "required")
INCOMPLETE = {"length": "max_output_tokens", "content_filter": "content_filter"}  # chat finish_reason: reason


def request_to_chat(data: dict) -> dict:
    """The chat completions request that asks the same of a model as the Responses request `data`."""
    if not isinstance(data, dict):
        raise InvalidRequest("The request body must be a JSON object.")
    for param, (asks_state, instead) in STATEFUL.items():
        if asks_state(data.get(param)):
            raise InvalidRequest(f"'{param}' needs state that is not kept for this model; {instead}.", param=param)
    chat = {name: data[name] for name in PASSED_ON if data.get(name) is not None}
    string(data.get("model"), "model")
    chat["messages"] = chat_messages(data.get("instructions"), data.get("input"))
    if data.get("tools") is not None:
        chat["tools"] = _tools(data["tools"])
    if data.get("tool_choice") is not None:
        chat["tool_choice"] = _tool_choice(data["tool_choice"])
    if data.get("max_output_tokens") is not None:
        chat["max_completion_tokens"] = data["max_output_tokens"]
    chat.update(_text_options(data.get("text")))
    reasoning = data.get("reasoning")
    if reasoning is not None:
        if not isinstance(reasoning, dict):
            raise invalid("reasoning", "an object")
        if reasoning.get("effort") is not None:
            chat["reasoning_effort"] = reasoning["effort"]
    if data.get("stream"):
        chat["stream"], chat["stream_options"] = True, {"include_usage": True}
    return chat


def _tools(tools) -> list[dict]:
    if not isinstance(tools, list):
        raise invalid("tools", "an array")
    chat_tools = []
    for index, tool in enumerate(tools):
        param = f"tools[{index}]"
        if not isinstance(tool, dict):
            raise invalid(param, "an object")
        if tool.get("type") != "function":
            raise InvalidRequest(f"Tools of type {tool.get('type')!r} are not available for this model; "
                                 "only 'function' tools are.", param=f"{param}.type")
        function = {"name": string(tool.get("name"), f"{param}.name")}
        function.update({key: tool[key] for key in ("description", "parameters", "strict") if tool.get(key) is not None})
        chat_tools.append({"type": "function", "function": function})
    return chat_tools


def _tool_choice(choice):
    if isinstance(choice, str) and choice in TOOL_CHOICES:
        return choice
    if isinstance(choice, dict) and choice.get("type") == "function":
        return {"type": "function", "function": {"name": string(choice.get("name"), "tool_choice.name")}}
    raise InvalidRequest("This model can only be given 'auto', 'none', 'required' or a function as 'tool_choice'.",
                         param="tool_choice")


def _text_options(text) -> dict:
    """`response_format` and `verbosity` from the Responses `text` parameter."""
    if text is None:
        return {}
    if not isinstance(text, dict):
        raise invalid("text", "an object")
    options = {"verbosity": text["verbosity"]} if text.get("verbosity") is not None else {}
    shape = text.get("format")
    if shape is None:
        return options
    if not isinstance(shape, dict):
        raise invalid("text.format", "an object")
    if shape.get("type") == "json_object":
        options["response_format"] = {"type": "json_object"}
    elif shape.get("type") == "json_schema":
        if not isinstance(shape.get("schema"), dict):
            raise invalid("text.format.schema", "an object")
        schema = {"name": string(shape.get("name"), "text.format.name"), "schema": shape["schema"]}
        schema.update({key: shape[key] for key in ("description", "strict") if shape.get(key) is not None})
        options["response_format"] = {"type": "json_schema", "json_schema": schema}
    elif shape.get("type") != "text":
        raise InvalidRequest("'text.format.type' must be 'text', 'json_object' or 'json_schema'.",
                             param="text.format.type")
    return options


def chat_to_response(completion: dict, *, request: dict) -> dict:
    """The Responses API `response` object for a whole chat completion answering `request`."""
    base = _base_id(completion.get("id"))
    choice = (completion.get("choices") or [{}])[0]
    message = choice.get("message") or {}
    calls = message.get("tool_calls") or []
    output = []
    if message.get("content") or message.get("refusal") or not calls:
        output.append(_message_item(base, 0, message.get("content") or "", message.get("refusal")))
    output += [_call_item(call["id"], call["function"]["name"], call["function"].get("arguments") or "")
               for call in calls]
    return _response(request, base=base, created=completion.get("created"), model=completion.get("model"),
                     output=output, finish_reason=choice.get("finish_reason"), usage=completion.get("usage"))


def _base_id(chat_id) -> str:
    """The part of a chat completion's id that the response's and its items' ids share."""
    return str(chat_id or "").removeprefix("chatcmpl-") or uuid.uuid4().hex


def _text_part(text: str) -> dict:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def _message_item(base: str, position: int, text: str, refusal=None, status="completed") -> dict:
    parts = ([_text_part(text)] if text or not refusal else []) + ([{"type": "refusal", "refusal": refusal}] if refusal else [])
    item_id = f"msg_{base}" if position == 0 else f"msg_{base}_{position}"
    return {"id": item_id, "type": "message", "status": status, "role": "assistant", "content": parts}


def _call_item(call_id: str, name: str, arguments: str, status="completed") -> dict:
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


def _response(request: dict, *, base, created, model, output, finish_reason=None, usage=None, done=True) -> dict:
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


class ChatStreamToResponses:
    """Turns a chat completion's stream, chunk by chunk, into the Responses API's typed events, in OpenAI's order.

    Each output item is opened when its first delta arrives and closed when the next one opens or the stream ends.
    """

    def __init__(self, request: dict):
        self.request = request
        self.usage = None  # the chat usage chunk's usage
        self._sequence = 0
        self._base = self._model = self._created = None
        self._output = []
        self._open = None  # the output index of the item being streamed
        self._calls = {}  # chat tool call index: output index
        self._finish_reason = None

    def feed(self, chunk: dict) -> bytes:
        """The Responses events that one parsed chat stream chunk makes, as SSE bytes."""
        events = [] if self._base is not None else self._start(chunk)
        if chunk.get("usage"):
            self.usage = chunk["usage"]
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") or {}
            if delta.get("content"):
                events += self._text(delta["content"])
            for call in delta.get("tool_calls") or []:
                events += self._call(call)
            self._finish_reason = choice.get("finish_reason") or self._finish_reason
        return b"".join(events)

    def finish(self) -> bytes:
        """The closing events, after the chat stream's [DONE]: the last item's end and the whole response."""
        events = [] if self._base is not None else self._start({})
        if not self._output:
            events += self._open_message()
        events += self._close("incomplete" if self._finish_reason in INCOMPLETE else "completed")
        response = _response(self.request, base=self._base, created=self._created, model=self._model,
                             output=self._output, finish_reason=self._finish_reason, usage=self.usage)
        kind = "response.incomplete" if response["status"] == "incomplete" else "response.completed"
        return b"".join(events + [self._event(kind, response=response)])

    def _event(self, kind: str, **fields) -> bytes:
        data = orjson.dumps({"type": kind, "sequence_number": self._sequence, **fields})
        self._sequence += 1
        return b"event: " + kind.encode() + b"\ndata: " + data + b"\n\n"

    def _start(self, chunk: dict) -> list[bytes]:
        self._base, self._model = _base_id(chunk.get("id")), chunk.get("model")
        self._created = chunk.get("created") or int(time.time())
        response = _response(self.request, base=self._base, created=self._created, model=self._model, output=[],
                             done=False)
        return [self._event("response.created", response=response),
                self._event("response.in_progress", response=response)]

    def _added(self, item: dict) -> bytes:
        self._output.append(item)
        self._open = len(self._output) - 1
        return self._event("response.output_item.added", output_index=self._open, item=item)

    def _open_message(self) -> list[bytes]:
        item = {**_message_item(self._base, len(self._output), "", status="in_progress"), "content": []}
        events = self._close() + [self._added(item)]
        item["content"].append(_text_part(""))
        return events + [self._event("response.content_part.added", item_id=item["id"], output_index=self._open,
                                     content_index=0, part=item["content"][0])]

    def _text(self, delta: str) -> list[bytes]:
        events = [] if self._open is not None and self._output[self._open]["type"] == "message" else self._open_message()
        item = self._output[self._open]
        item["content"][0]["text"] += delta
        return events + [self._event("response.output_text.delta", item_id=item["id"], output_index=self._open,
                                     content_index=0, delta=delta, logprobs=[])]

    def _call(self, call: dict) -> list[bytes]:
        index, function = call.get("index", 0), call.get("function") or {}
        events = []
        if index not in self._calls:
            call_id = call.get("id") or f"call_{self._base}_{index}"
            events += self._close()
            events.append(self._added(_call_item(call_id, function.get("name") or "", "", status="in_progress")))
            self._calls[index] = self._open
        position = self._calls[index]
        item = self._output[position]
        if function.get("arguments"):
            item["arguments"] += function["arguments"]
            events.append(self._event("response.function_call_arguments.delta", item_id=item["id"],
                                      output_index=position, delta=function["arguments"]))
        return events

    def _close(self, status="completed") -> list[bytes]:
        """The events that finish the item being streamed, if one is."""
        if self._open is None:
            return []
        position, self._open = self._open, None
        item = self._output[position]
        item["status"] = status
        if item["type"] == "message":
            part = item["content"][0]
            events = [self._event("response.output_text.done", item_id=item["id"], output_index=position,
                                  content_index=0, text=part["text"], logprobs=[]),
                      self._event("response.content_part.done", item_id=item["id"], output_index=position,
                                  content_index=0, part=part)]
        else:
            events = [self._event("response.function_call_arguments.done", item_id=item["id"], name=item["name"],
                                  output_index=position, arguments=item["arguments"])]
        return events + [self._event("response.output_item.done", output_index=position, item=item)]
