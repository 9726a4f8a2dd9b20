"""OpenAI's legacy completions (`/v1/completions`) spoken to a provider that only knows chat completions.

The prompt becomes one user message and the reply its text. What chat cannot do (several prompts, token
prompts, `suffix`, `echo`, `logprobs`, `best_of`) is refused with a 400 naming the parameter.
"""

import time

from gateway.errors import InvalidRequest
from providers.sse import DONE, sse

PASSED_ON = ("model", "temperature", "top_p", "n", "stop", "presence_penalty", "frequency_penalty", "seed", "user",
             "logit_bias")
DEFAULT_MAX_TOKENS = 16  # as OpenAI's legacy API, where chat has no limit
UNSUPPORTED = {  # parameter: does the value ask for something chat cannot do?
    "suffix": lambda v: v is not None,
    "echo": lambda v: v is True,
    "logprobs": lambda v: v is not None,
    "best_of": lambda v: v is not None and v != 1,
}
FINISH_REASONS = ("stop", "length", "content_filter")  # the others (tool_calls...) are a stop for a text completion


def request_to_chat(data: dict) -> dict:
    """The chat completions request that asks the same of a model as the completions request `data`."""
    if not isinstance(data, dict):
        raise InvalidRequest("The request body must be a JSON object.")
    for param, unsupported in UNSUPPORTED.items():
        if unsupported(data.get(param)):
            raise InvalidRequest(f"'{param}' is not supported for this model.", param=param)
    if not isinstance(data.get("model"), str):
        raise InvalidRequest("You must provide a model parameter.", param="model")
    chat = {name: data[name] for name in PASSED_ON if data.get(name) is not None}
    chat["messages"] = [{"role": "user", "content": _prompt(data.get("prompt"))}]
    max_tokens = data.get("max_tokens")
    chat["max_tokens"] = DEFAULT_MAX_TOKENS if max_tokens is None else max_tokens
    if data.get("stream"):
        chat["stream"], chat["stream_options"] = True, {"include_usage": True}
    return chat


def _prompt(prompt) -> str:
    if isinstance(prompt, list) and len(prompt) == 1:
        prompt = prompt[0]
    if isinstance(prompt, str):
        return prompt
    if isinstance(prompt, list) and prompt and all(isinstance(one, str) for one in prompt):
        raise InvalidRequest("This model takes one prompt per request; send the prompts one by one.", param="prompt")
    raise InvalidRequest("'prompt' must be a string for this model (token arrays cannot be translated).",
                         param="prompt")


def _base(chat: dict) -> dict:
    """The fields a text completion (whole or a stream chunk) shares with the chat completion it comes from."""
    base = {"id": "cmpl-" + str(chat.get("id") or "").removeprefix("chatcmpl-"), "object": "text_completion",
            "created": chat.get("created") or int(time.time()), "model": chat.get("model") or ""}
    if isinstance(chat.get("system_fingerprint"), str):
        base["system_fingerprint"] = chat["system_fingerprint"]
    return base


def _choice(choice: dict, said: dict) -> dict:
    """A text completion's choice for a chat choice whose message (or delta) is `said`."""
    reason = choice.get("finish_reason")
    return {"text": said.get("content") or "", "index": choice.get("index", 0), "logprobs": None,
            "finish_reason": reason if reason in FINISH_REASONS or reason is None else "stop"}


def chat_to_completion(completion: dict) -> dict:
    """The `text_completion` object for a whole chat completion."""
    choices = [_choice(choice, choice.get("message") or {}) for choice in completion.get("choices") or []]
    answer = {**_base(completion), "choices": choices}
    if completion.get("usage"):
        answer["usage"] = completion["usage"]
    return answer


class ChatStreamToCompletions:
    """Turns a chat completion's stream into the legacy completions stream, chunk by chunk.

    Usage is always asked of the provider (to record it) and passed on only when the client asked for it.
    """

    def __init__(self, *, include_usage: bool = False):
        self.include_usage = include_usage
        self.usage = None

    def feed(self, chunk: dict) -> bytes:
        """The completion chunk for one parsed chat stream chunk, as SSE bytes (nothing for a chunk without text)."""
        if chunk.get("usage"):
            self.usage = chunk["usage"]
        choices = [_choice(choice, choice.get("delta") or {}) for choice in chunk.get("choices") or []]
        answer = {**_base(chunk), "choices": [one for one in choices if one["text"] or one["finish_reason"]]}
        if chunk.get("usage") and self.include_usage:
            answer["usage"] = chunk["usage"]
        return sse(answer) if answer["choices"] or "usage" in answer else b""

    def finish(self) -> bytes:
        return DONE
