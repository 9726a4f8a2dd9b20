"""Deterministic legacy completions (`POST /v1/completions`) in OpenAI's wire format.

Each prompt (a string, a list of strings, a token array or a list of them) gets n choices, planned as chat's
answer to that prompt; a prompt's tokens are its words (or its token ids). max_tokens defaults to 16, as OpenAI's.
"""

from . import mock_answers

DEFAULT_MAX_TOKENS = 16


def prompts(request: dict) -> list[str]:
    """The prompts as texts (a token array reads as its ids), with `prompt_tokens` countable from them."""
    prompt = request.get("prompt", "<|endoftext|>")
    if isinstance(prompt, str):
        return [prompt]
    if prompt and all(type(token) is int for token in prompt):
        return [" ".join(map(str, prompt))]
    if not prompt or not all(isinstance(p, (str, list)) for p in prompt):
        raise ValueError("prompt must be a string, a list of strings, or token arrays")
    return [p if isinstance(p, str) else " ".join(map(str, p)) for p in prompt]


def _planned(request: dict, length: int | None) -> list[tuple[str, mock_answers.Answer]]:
    n = mock_answers.answer_count(request)
    limit = request.get("max_tokens", DEFAULT_MAX_TOKENS)
    planned = []
    for prompt in prompts(request):
        chat_like = {"messages": [{"role": "user", "content": prompt}], "max_tokens": limit, "stop": request.get("stop")}
        planned += [(prompt, mock_answers.plan(chat_like, length))] * n
    return planned


def _logprobs(request: dict, tokens: list[str], offset: int) -> dict | None:
    top = request.get("logprobs")
    if top is None:
        return None
    offsets, position = [], offset
    for token in tokens:
        offsets.append(position)
        position += len(token)
    return {"tokens": tokens, "token_logprobs": [-0.25] * len(tokens), "text_offset": offsets,
            "top_logprobs": [{token: -0.25, **{f"alt{i}": -0.25 * (i + 1) for i in range(1, top)}} for token in tokens]}


def _usage(request: dict, planned) -> dict:
    prompt = sum(len(p.split()) for p in prompts(request))
    completion = sum(len(answer.tokens) for _, answer in planned)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _base(request: dict, completion_id: str, created: int) -> dict:
    return {"id": completion_id, "object": "text_completion", "created": created, "model": request["model"],
            "system_fingerprint": mock_answers.FINGERPRINT}


def completion(request: dict, *, completion_id: str, created: int, length: int | None = None) -> dict:
    planned = _planned(request, length)
    choices = []
    for index, (prompt, answer) in enumerate(planned):
        echoed = prompt if request.get("echo") else ""
        text = echoed + "".join(answer.tokens)
        choices.append({"text": text, "index": index, "logprobs": _logprobs(request, answer.tokens, len(echoed)),
                        "finish_reason": answer.finish_reason})
    return {**_base(request, completion_id, created), "choices": choices, "usage": _usage(request, planned)}


def chunks(request: dict, *, completion_id: str, created: int, length: int | None = None):
    """Yield the stream's chunks: per choice its tokens, then its finish; then usage if asked."""
    planned = _planned(request, length)
    include_usage = bool((request.get("stream_options") or {}).get("include_usage"))
    base = _base(request, completion_id, created)
    if include_usage:
        base["usage"] = None

    def chunk(index, text, finish_reason=None, logprobs=None):
        return {**base, "choices": [{"text": text, "index": index, "logprobs": logprobs, "finish_reason": finish_reason}]}

    for index, (prompt, answer) in enumerate(planned):
        if request.get("echo"):
            yield chunk(index, prompt)
        for token in answer.tokens:
            yield chunk(index, token, logprobs=_logprobs(request, [token], 0))
        yield chunk(index, "", answer.finish_reason)
    if include_usage:
        yield {**base, "choices": [], "usage": _usage(request, planned)}
