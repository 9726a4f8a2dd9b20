"""OpenAI's streaming wire format: one `data: <chunk JSON>` event per chunk, then `data: [DONE]`."""

import orjson

DONE = b"data: [DONE]\n\n"


def sse(chunk: dict) -> bytes:
    return b"data: " + orjson.dumps(chunk) + b"\n\n"
