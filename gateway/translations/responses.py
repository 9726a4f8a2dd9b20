"""OpenAI's Responses API spoken to a provider that only knows chat completions: the request, the answer, the stream.

Only the stateless subset translates. What needs OpenAI's storage or its built-in tools is refused with a 400
naming the parameter, never dropped silently; options that only shape OpenAI's own extras (`include`,
`truncation`, reasoning summaries) have nothing to act on and are ignored.
"""

import time

import orjson

from gateway.errors import InvalidRequest

from .responses_output import INCOMPLETE, base_id, call_item, message_item, response_object, text_part
from .responses_request import chat_messages, chat_text_options, chat_tool_choice, chat_tools, invalid, string

PASSED_ON = ("model", "temperature", "top_p", "user", "metadata", "parallel_tool_calls", "prompt_cache_key",
             "safety_identifier", "service_tier")
STATEFUL = {  # parameter: (does the value ask for state?, what to do instead)
    "previous_response_id": (lambda v: v is not None, "send the whole conversation in 'input' instead"),
    "conversation": (lambda v: v is not None, "send the whole conversation in 'input' instead"),
    "store": (lambda v: v is True, "send 'store': false"),
    "background": (lambda v: v is True, "wait for the answer or stream it"),
    "prompt": (lambda v: v is not None, "send the instructions and input themselves"),
}


def request_to_chat(data: dict) -> dict:
    """The chat completions request that asks the same of a model as the Responses request `data`."""
    if not isinstance(data, dict):
        raise InvalidRequest("The request body must be a JSON object.")
    for param, (asks_state, instead) in STATEFUL.items():
        if asks_state(data.get(param)):
            raise InvalidRequest(f"'{param}' needs state that is not kept for this model; {instead}.", param=param)
    string(data.get("model"), "model")
    chat = {name: data[name] for name in PASSED_ON if data.get(name) is not None}
    chat["messages"] = chat_messages(data.get("instructions"), data.get("input"))
    if not chat["messages"]:
        raise InvalidRequest("'input' has nothing for the model to answer.", param="input")
    if data.get("tools") is not None:
        chat["tools"] = chat_tools(data["tools"])
    if data.get("tool_choice") is not None:
        chat["tool_choice"] = chat_tool_choice(data["tool_choice"])
    if data.get("max_output_tokens") is not None:
        chat["max_completion_tokens"] = data["max_output_tokens"]
    chat.update(chat_text_options(data.get("text")))
    reasoning = data.get("reasoning")
    if reasoning is not None:
        if not isinstance(reasoning, dict):
            raise invalid("reasoning", "an object")
        if reasoning.get("effort") is not None:
            chat["reasoning_effort"] = reasoning["effort"]
    if data.get("stream"):
        chat["stream"], chat["stream_options"] = True, {"include_usage": True}
    return chat


def chat_to_response(completion: dict, *, request: dict) -> dict:
    """The Responses API `response` object for a whole chat completion answering `request`."""
    base = base_id(completion.get("id"))
    choice = (completion.get("choices") or [{}])[0]
    message = choice.get("message") or {}
    calls = message.get("tool_calls") or []
    output = []
    if message.get("content") or message.get("refusal") or not calls:
        output.append(message_item(base, 0, message.get("content") or "", message.get("refusal")))
    output += [call_item(call["id"], call["function"]["name"], call["function"].get("arguments") or "")
               for call in calls]
    return response_object(request, base=base, created=completion.get("created"), model=completion.get("model"),
                           output=output, finish_reason=choice.get("finish_reason"), usage=completion.get("usage"))


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
        response = self._response(output=self._output, finish_reason=self._finish_reason, usage=self.usage)
        kind = "response.incomplete" if response["status"] == "incomplete" else "response.completed"
        return b"".join(events + [self._event(kind, response=response)])

    def _event(self, kind: str, **fields) -> bytes:
        data = orjson.dumps({"type": kind, "sequence_number": self._sequence, **fields})
        self._sequence += 1
        return b"event: " + kind.encode() + b"\ndata: " + data + b"\n\n"

    def _start(self, chunk: dict) -> list[bytes]:
        self._base, self._model = base_id(chunk.get("id")), chunk.get("model")
        self._created = chunk.get("created") or int(time.time())
        response = self._response(output=[], done=False)
        return [self._event("response.created", response=response),
                self._event("response.in_progress", response=response)]

    def _response(self, **fields) -> dict:
        return response_object(self.request, base=self._base, created=self._created, model=self._model, **fields)

    def _added(self, item: dict) -> bytes:
        self._output.append(item)
        self._open = len(self._output) - 1
        return self._event("response.output_item.added", output_index=self._open, item=item)

    def _open_message(self) -> list[bytes]:
        item = {**message_item(self._base, len(self._output), "", status="in_progress"), "content": []}
        events = self._close() + [self._added(item)]
        item["content"].append(text_part(""))
        return events + [self._event("response.content_part.added", item_id=item["id"], output_index=self._open,
                                     content_index=0, part=item["content"][0])]

    def _text(self, delta: str) -> list[bytes]:
        streaming_text = self._open is not None and self._output[self._open]["type"] == "message"
        events = [] if streaming_text else self._open_message()
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
            events.append(self._added(call_item(call_id, function.get("name") or "", "", status="in_progress")))
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
