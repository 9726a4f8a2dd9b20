"""Deterministic chat completions in OpenAI's wire format, for the mock provider and the mock upstream.

A "token" here is a word with its trailing space: the counts are easy to check by hand.
Supported: n, stop, max_tokens/max_completion_tokens, tools and legacy functions,
logprobs/top_logprobs, service_tier, and streaming with stream_options.include_usage.

The model's name chooses the token classes the usage reports (the mock Responses API reads them too):
  *-cached-<n>      prompt_tokens_details.cached_tokens = n (at most prompt_tokens; they stay inside it)
  *-reasoning-<n>   n reasoning tokens per answer, inside completion_tokens (not shown, not limited by max_tokens)
  o<digit>*         (o1, o3-mini, o4-mini...) 64 reasoning tokens per answer unless -reasoning-<n> says otherwise
A tool is called when the request offers one, unless tool_choice is "none" or the last message is a tool's
result: then the model answers in words, echoing that result, so an agent's loop ends.
"""

import re
from dataclasses import dataclass

import orjson

MAX_N = 128  # as OpenAI
# What reading a malformed request raises (tools that are not tools, and so on): OpenAI answers 400.
MALFORMED = (AttributeError, IndexError, KeyError, TypeError, ValueError)
FINGERPRINT = "fp_prism_mock"
CACHED = re.compile(r"-cached-(\d+)")
REASONING = re.compile(r"-reasoning-(\d+)")
O_SERIES = re.compile(r"o\d")
O_SERIES_REASONING = 64
SERVICE_TIERS = {"flex", "priority", "scale"}  # answered as asked; anything else runs on "default"
TOOL_ROLES = {"tool", "function"}
ANSWERED_ROLES = {"user", *TOOL_ROLES}


@dataclass
class Answer:
    """One choice as planned: either text tokens or a function call."""

    tokens: list[str]
    finish_reason: str
    call: dict | None = None  # {"name", "arguments"}
    stop_sequence: str | None = None  # the stop sequence that ended it, if one did

    @property
    def completion_tokens(self) -> int:
        return len(self.call["arguments"].split()) + 1 if self.call else len(self.tokens)


def _text(content) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(part.get("text", "") for part in content if isinstance(part, dict))
    return ""


def _last_user_text(request: dict) -> str:
    """What the model answers: the last user message, or the tool result that came after it."""
    said = [m for m in request.get("messages", []) if isinstance(m, dict) and m.get("role") in ANSWERED_ROLES]
    return _text(said[-1].get("content")) if said else ""


def _after_tool_result(request: dict) -> bool:
    messages = request.get("messages") or []
    return bool(messages) and isinstance(messages[-1], dict) and messages[-1].get("role") in TOOL_ROLES


def cached_tokens(model: str, prompt: int) -> int:
    found = CACHED.search(model)
    return min(int(found.group(1)), prompt) if found else 0


def reasoning_tokens(model: str) -> int:
    """Reasoning tokens per answer, chosen by the model's name."""
    found = REASONING.search(model)
    if found:
        return int(found.group(1))
    return O_SERIES_REASONING if O_SERIES.match(model) else 0


def service_tier(request: dict) -> str:
    return request.get("service_tier") if request.get("service_tier") in SERVICE_TIERS else "default"


def prompt_tokens(request: dict) -> int:
    return sum(len(_text(m.get("content")).split()) + 1 for m in request.get("messages", []) if isinstance(m, dict))


def reply_words(request: dict, length: int | None = None) -> list[str]:
    """The reply's words: a greeting echoing the user, or `length` words of it repeated."""
    words = f"Hello from Prism's mock model! You said: {_last_user_text(request)}".split()
    if length is not None:
        words = [words[i % len(words)] for i in range(length)]
    return [word + " " for word in words[:-1]] + words[-1:]


def _called_function(request: dict) -> tuple[str, str] | None:
    """(name, "tool" or "function") when the request asks the model to call one."""
    tools, functions = request.get("tools"), request.get("functions")
    if _after_tool_result(request):
        return None
    if tools and request.get("tool_choice") != "none":
        choice = request.get("tool_choice")
        name = choice["function"]["name"] if isinstance(choice, dict) else tools[0]["function"]["name"]
        return name, "tool"
    if functions and request.get("function_call") != "none":
        choice = request.get("function_call")
        name = choice["name"] if isinstance(choice, dict) else functions[0]["name"]
        return name, "function"
    return None


def plan(request: dict, length: int | None = None) -> Answer:
    called = _called_function(request)
    if called:
        arguments = orjson.dumps({"text": _last_user_text(request)}).decode()
        return Answer([], "tool_calls" if called[1] == "tool" else "function_call", {"name": called[0], "arguments": arguments})
    limit = request.get("max_completion_tokens") or request.get("max_tokens")
    stop = request.get("stop")
    stops = [stop] if isinstance(stop, str) else [s for s in stop or [] if s]
    tokens, text = [], ""
    for token in reply_words(request, length):
        if limit is not None and len(tokens) >= limit:
            return Answer(tokens, "length")
        candidate = text + token
        cut, found = min(((candidate.find(s), s) for s in stops if s in candidate), default=(-1, None))
        if cut >= 0:  # stop before the stop sequence, as OpenAI does
            return Answer(tokens + [candidate[len(text):cut]] if cut > len(text) else tokens, "stop", stop_sequence=found)
        tokens.append(token)
        text = candidate
    return Answer(tokens, "stop")


def _token_logprob(token: str, logprob: float) -> dict:
    return {"token": token, "logprob": logprob, "bytes": list(token.encode())}


def answer_count(request: dict) -> int:
    n = request.get("n") or 1
    if type(n) is not int or not 1 <= n <= MAX_N:
        raise ValueError(f"n must be an integer from 1 to {MAX_N}")
    return n


def _logprob(token: str, top: int) -> dict:
    alternatives = [token] + [f"alt{i}" for i in range(1, top)]
    top_logprobs = [_token_logprob(t, -0.25 * (i + 1)) for i, t in enumerate(alternatives[:top])]
    return {**_token_logprob(token, -0.25), "top_logprobs": top_logprobs}


def _logprobs(request: dict, tokens: list[str]) -> dict | None:
    if not request.get("logprobs"):
        return None
    return {"content": [_logprob(t, request.get("top_logprobs") or 0) for t in tokens], "refusal": None}


def _usage(request: dict, answers: list[Answer]) -> dict:
    """OpenAI's usage with every detail: cached tokens inside prompt_tokens, reasoning inside completion_tokens."""
    model, prompt = request["model"], prompt_tokens(request)
    reasoning = reasoning_tokens(model) * len(answers)
    completion = sum(a.completion_tokens for a in answers) + reasoning
    return {
        "prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cached_tokens(model, prompt), "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": reasoning, "audio_tokens": 0,
                                      "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0},
    }


def _message(answer: Answer) -> dict:
    message = {"role": "assistant", "content": None if answer.call else "".join(answer.tokens), "refusal": None}
    if answer.finish_reason == "tool_calls":
        message["tool_calls"] = [{"id": "call_mock_0", "type": "function", "function": answer.call}]
    elif answer.finish_reason == "function_call":
        message["function_call"] = answer.call
    return message


def completion(request: dict, *, completion_id: str, created: int, length: int | None = None) -> dict:
    answers = [plan(request, length) for _ in range(answer_count(request))]
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": request["model"],
        "system_fingerprint": FINGERPRINT,
        "choices": [
            {
                "index": index,
                "message": _message(answer),
                "logprobs": _logprobs(request, answer.tokens),
                "finish_reason": answer.finish_reason,
            }
            for index, answer in enumerate(answers)
        ],
        "usage": _usage(request, answers),
        "service_tier": service_tier(request),
    }


def _call_deltas(answer: Answer) -> list[dict]:
    name, arguments = answer.call["name"], answer.call["arguments"]
    if answer.finish_reason == "tool_calls":
        return [
            {"role": "assistant", "content": None, "tool_calls": [
                {"index": 0, "id": "call_mock_0", "type": "function", "function": {"name": name, "arguments": ""}}
            ]},
            {"tool_calls": [{"index": 0, "function": {"arguments": arguments}}]},
        ]
    return [
        {"role": "assistant", "content": None, "function_call": {"name": name, "arguments": ""}},
        {"function_call": {"arguments": arguments}},
    ]


def chunks(request: dict, *, completion_id: str, created: int, length: int | None = None):
    """Yield the stream's chunks: per choice a role delta, its tokens, its finish, then usage if asked."""
    answers = [plan(request, length) for _ in range(answer_count(request))]
    include_usage = bool((request.get("stream_options") or {}).get("include_usage"))
    base = {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": request["model"],
            "system_fingerprint": FINGERPRINT, "service_tier": service_tier(request)}
    if include_usage:
        base["usage"] = None

    def chunk(index, delta, finish_reason=None, logprobs=None):
        choice = {"index": index, "delta": delta, "logprobs": logprobs, "finish_reason": finish_reason}
        return {**base, "choices": [choice]}

    for index, answer in enumerate(answers):
        if answer.call:
            for delta in _call_deltas(answer):
                yield chunk(index, delta)
        else:
            yield chunk(index, {"role": "assistant", "content": "", "refusal": None})
            for token in answer.tokens:
                yield chunk(index, {"content": token}, logprobs=_logprobs(request, [token]))
        yield chunk(index, {}, answer.finish_reason)
    if include_usage:
        yield {**base, "choices": [], "usage": _usage(request, answers)}


def split_tokens(text: str) -> list[str]:
    """A finished text as the words-with-their-space it was planned in, to stream it again."""
    words = text.split(" ")
    return [word + " " for word in words[:-1]] + ([words[-1]] if words[-1] else [])


def typed_sse(event: dict) -> bytes:
    """One event as the Responses and Messages APIs stream it: named by its type (providers.sse has chat's)."""
    return b"event: " + event["type"].encode() + b"\ndata: " + orjson.dumps(event) + b"\n\n"
