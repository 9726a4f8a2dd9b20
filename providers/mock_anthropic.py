"""Deterministic answers of Anthropic's Messages API: the message, its stream events, token counts, prompt caching.

The answer is planned as chat's (mock_answers.plan): same words, same counts. Input tokens are counted per
block in the order Anthropic caches them (tools, system, messages): a message or the system counts its words
plus one, a tool the words of its name and description, a tool_use or image block one.
Prompt caching as Anthropic's: a block with `cache_control` ends a cached prefix; the first request with a
prefix writes it (`ttl: "1h"` to the 1-hour class, else 5 minutes), later ones read it, and the tokens after the
last breakpoint are `input_tokens` (cache tokens are not inside it). There is no minimum length and no expiry.
`thinking` (enabled or adaptive) adds a thinking block, counted in output_tokens.
"""

import base64
import hashlib

import orjson

from . import mock_answers

MODELS = (  # id, display name, release
    ("claude-opus-4-1", "Claude Opus 4.1", "2025-08-05T00:00:00Z"),
    ("claude-sonnet-4-5", "Claude Sonnet 4.5", "2025-09-29T00:00:00Z"),
    ("claude-haiku-4-5", "Claude Haiku 4.5", "2025-10-15T00:00:00Z"),
)
STOP_REASONS = {"tool_calls": "tool_use", "length": "max_tokens"}


def _text(content) -> str:
    if isinstance(content, str):
        return content
    return " ".join(_text(b.get("content", "")) if b.get("type") == "tool_result" else b.get("text", "")
                    for b in content if b.get("type") in ("text", "tool_result"))


def _blocks(data: dict) -> list[tuple[int, dict | None, bytes]]:
    """The prompt as (tokens, cache_control, bytes that identify it) per block, in Anthropic's cache order."""
    blocks = [(len(f"{t.get('name', '')} {t.get('description', '')}".split()), t.get("cache_control"), orjson.dumps(t))
              for t in data.get("tools") or []]
    turns = [("system", data["system"])] if data.get("system") else []
    turns += [(m["role"], m["content"]) for m in data["messages"]]
    for role, content in turns:
        parts = [{"type": "text", "text": content}] if isinstance(content, str) else content
        for index, part in enumerate(parts):
            words = len(_text([part]).split()) if part.get("type") in ("text", "tool_result") else 1
            key = orjson.dumps([role, {k: v for k, v in part.items() if k != "cache_control"}])
            blocks.append((words + (index == 0), part.get("cache_control"), key))
    return blocks


def input_tokens(data: dict) -> int:
    """What `POST /v1/messages/count_tokens` answers: every input token, cached or not."""
    return sum(tokens for tokens, _, _ in _blocks(data))


class PromptCache:
    """The prefixes seen so far, per model, as Anthropic's prompt cache keeps them."""

    def __init__(self):
        self._seen = set()

    def usage(self, data: dict) -> dict:
        """The input side of the usage: cache reads, cache writes per TTL, and the uncached rest."""
        digest = hashlib.sha256(data["model"].encode())
        total, ends = 0, []  # (tokens up to the breakpoint, ttl, prefix key)
        for tokens, cache_control, key in _blocks(data):
            digest.update(key)
            total += tokens
            if cache_control:
                ends.append((total, cache_control.get("ttl", "5m"), digest.hexdigest()))
        read = max((end for end, _, key in ends if key in self._seen), default=0)
        written, previous = {"5m": 0, "1h": 0}, 0
        for end, ttl, key in ends:
            if end > read:
                written[ttl if ttl in written else "5m"] += end - max(previous, read)
            previous = end
            self._seen.add(key)
        cached = ends[-1][0] if ends else 0
        return {"input_tokens": total - cached, "cache_creation_input_tokens": written["5m"] + written["1h"],
                "cache_read_input_tokens": read,
                "cache_creation": {"ephemeral_5m_input_tokens": written["5m"], "ephemeral_1h_input_tokens": written["1h"]}}


def _chat_like(data: dict) -> dict:
    """The request as the OpenAI-shaped one it stands for; a user turn of tool results reads as a tool's."""
    system = [{"role": "system", "content": _text(data["system"])}] if data.get("system") else []
    messages = []
    for m in data["messages"]:
        results = not isinstance(m["content"], str) and any(b.get("type") == "tool_result" for b in m["content"])
        messages.append({"role": "tool" if results else m["role"], "content": _text(m["content"])})
    chat_like = {"model": data["model"], "max_tokens": data.get("max_tokens"), "stop": data.get("stop_sequences"),
                 "messages": system + messages}
    choice = data.get("tool_choice") or {}
    if data.get("tools") and choice.get("type") != "none":
        name = choice["name"] if choice.get("type") == "tool" else data["tools"][0]["name"]
        chat_like["tools"] = [{"type": "function", "function": {"name": name}}]
    return chat_like


def _thinking(data: dict, chat_like: dict) -> dict | None:
    thinking = data.get("thinking") or {}
    if thinking.get("type") not in ("enabled", "adaptive"):
        return None
    said = [m["content"] for m in chat_like["messages"] if m["role"] != "system"]
    text = f"The user wrote: {said[-1] if said else ''}. I will greet them and repeat it."
    signature = base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()
    return {"type": "thinking", "thinking": "" if thinking.get("display") == "omitted" else text,
            "signature": signature, "tokens": len(text.split())}


def message(data: dict, *, message_id: str, cache: PromptCache, length: int | None = None) -> dict:
    """The finished message for `data`, its usage read from (and written to) `cache`."""
    chat_like = _chat_like(data)
    answer = mock_answers.plan(chat_like, length)
    thinking = _thinking(data, chat_like)
    content = [{key: value for key, value in thinking.items() if key != "tokens"}] if thinking else []
    if answer.call:
        content.append({"type": "tool_use", "id": f"toolu_{message_id.removeprefix('msg_')}",
                        "name": answer.call["name"], "input": orjson.loads(answer.call["arguments"])})
    else:
        content.append({"type": "text", "text": "".join(answer.tokens)})
    stop_reason = "stop_sequence" if answer.stop_sequence else STOP_REASONS.get(answer.finish_reason, "end_turn")
    thought = thinking["tokens"] if thinking else 0
    usage = {**cache.usage(data), "output_tokens": answer.completion_tokens + thought, "service_tier": "standard"}
    if thinking:
        usage["output_tokens_details"] = {"thinking_tokens": thought}
    return {"id": message_id, "type": "message", "role": "assistant", "model": data["model"], "content": content,
            "stop_reason": stop_reason, "stop_sequence": answer.stop_sequence, "usage": usage}


def events(answer: dict) -> list[dict]:
    """The stream that builds the finished message `answer`, in the order Anthropic documents."""
    usage = answer["usage"]
    started = {**answer, "content": [], "stop_reason": None, "stop_sequence": None, "usage": {**usage, "output_tokens": 1}}
    stream = [{"type": "message_start", "message": started}, {"type": "ping"}]
    for index, block in enumerate(answer["content"]):
        stream += _block_events(index, block)
    final = {key: usage[key] for key in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens",
                                         "output_tokens", "output_tokens_details") if key in usage}
    stream += [{"type": "message_delta", "delta": {"stop_reason": answer["stop_reason"],
                                                   "stop_sequence": answer["stop_sequence"]}, "usage": final},
               {"type": "message_stop"}]
    return stream


def _block_events(index: int, block: dict) -> list[dict]:
    def delta(**fields):
        return {"type": "content_block_delta", "index": index, "delta": fields}

    kind = block["type"]
    if kind == "thinking":
        start = {**block, "thinking": "", "signature": ""}
        deltas = [delta(type="thinking_delta", thinking=t) for t in mock_answers.split_tokens(block["thinking"])]
        deltas.append(delta(type="signature_delta", signature=block["signature"]))
    elif kind == "tool_use":
        start = {**block, "input": {}}
        arguments = orjson.dumps(block["input"]).decode()
        half = len(arguments) // 2
        deltas = [delta(type="input_json_delta", partial_json=p) for p in ("", arguments[:half], arguments[half:])]
    else:
        start = {**block, "text": ""}
        deltas = [delta(type="text_delta", text=t) for t in mock_answers.split_tokens(block["text"])]
    return [{"type": "content_block_start", "index": index, "content_block": start}, *deltas,
            {"type": "content_block_stop", "index": index}]


def models_page(*, limit: int = 20, after_id: str | None = None, before_id: str | None = None) -> dict:
    """`GET /v1/models` as Anthropic lists it, newest first."""
    listed = [{"type": "model", "id": model_id, "display_name": name, "created_at": created, "lifecycle": "active"}
              for model_id, name, created in reversed(MODELS)]
    ids = [model["id"] for model in listed]
    if after_id in ids:
        listed = listed[ids.index(after_id) + 1:]
    elif before_id in ids:
        listed = listed[: ids.index(before_id)][-limit:]
    page = listed[:limit]
    return {"data": page, "has_more": len(listed) > len(page),
            "first_id": page[0]["id"] if page else None, "last_id": page[-1]["id"] if page else None}
