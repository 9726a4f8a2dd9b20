"""An OpenAI-compatible HTTP server answering like `mock_provider`: the upstream for tests and benchmarks.

Faults and delays are chosen per request by the model's name, since Prism forwards no client headers:
  *-fault-429, *-fault-500, *-fault-503   that error, in OpenAI's shape (429 with Retry-After)
  *-fault-garbage                         200 with a body that is not JSON
  *-fault-cut                             a stream that stops half-way without [DONE]
  *-flaky-<n>                             503 for the first n requests with this exact model name
  *-delay-<ms>                            wait that long before each token
Streams that the client abandons are noted in `cancelled` (their model names).
Run it alone with `python -m providers.mock_upstream --port 9100 [--tokens 20] [--token-delay-ms 0]`.
"""

import argparse
import asyncio
import itertools
import json
import re
import threading
import time
from collections import deque

import orjson
from aiohttp import web

from . import mock_answers
from .sse import DONE, sse

FAULT = re.compile(r"-fault-(\w+)")
DELAY = re.compile(r"-delay-(\d+)")
FLAKY = re.compile(r"-flaky-(\d+)")
ERRORS = {
    "429": ("Rate limit reached for requests.", "requests", "rate_limit_exceeded"),
    "500": ("The server had an error while processing your request.", "server_error", None),
    "503": ("The engine is currently overloaded, please try again later.", "server_error", None),
}
RATE_LIMIT_HEADERS = {
    "x-ratelimit-limit-requests": "10000",
    "x-ratelimit-remaining-requests": "9999",
    "x-ratelimit-reset-requests": "6ms",
}


class MockUpstream:
    def __init__(self, *, tokens: int | None = None, token_delay: float = 0.0):
        self.tokens = tokens
        self.token_delay = token_delay
        self.received = deque(maxlen=10_000)  # (headers, body bytes) of each chat request
        self.cancelled = deque(maxlen=10_000)
        self.paths = deque(maxlen=10_000)
        self._failures = {}
        self._ids = itertools.count()
        self.app = web.Application()
        self.app.router.add_post("/v1/chat/completions", self.chat_completions)
        self.app.router.add_post("/openai/deployments/{deployment}/chat/completions", self.chat_completions)  # Azure
        self.app.router.add_post("/v1/messages", self.anthropic_messages)
        self.app.router.add_get("/v1/models", self.models)

    async def models(self, request):
        return web.json_response({"object": "list", "data": []})

    async def chat_completions(self, request):
        body = await request.read()
        self.received.append((dict(request.headers), body))
        self.paths.append(request.path_qs)
        if not (request.headers.get("Authorization", "").startswith("Bearer ") or request.headers.get("api-key")):
            return _error(401, "You didn't provide an API key.", "invalid_request_error", None)
        try:
            data = json.loads(body)
            model = data["model"]
            fault = FAULT.search(model)
        except mock_answers.MALFORMED:
            return _error(400, "We could not parse the JSON body of your request.", "invalid_request_error", None)
        fault = fault.group(1) if fault else None
        flaky = FLAKY.search(model)
        if flaky and self._failures.setdefault(model, 0) < int(flaky.group(1)):
            self._failures[model] += 1
            fault = "503"
        if fault in ERRORS:
            headers = {"Retry-After": "1", **RATE_LIMIT_HEADERS} if fault == "429" else {}
            return _error(int(fault), *ERRORS[fault], headers=headers)
        if fault == "garbage":
            return web.Response(body=b"<html>Bad gateway</html>", content_type="application/json")
        delay = DELAY.search(model)
        delay = int(delay.group(1)) / 1000 if delay else self.token_delay
        headers = {"x-request-id": f"req_mock_{next(self._ids)}", **RATE_LIMIT_HEADERS}
        kwargs = {"completion_id": f"chatcmpl-mock{next(self._ids)}", "created": int(time.time()), "length": self.tokens}
        try:
            chunks = list(mock_answers.chunks(data, **kwargs)) if data.get("stream") else None
            answer = None if chunks else mock_answers.completion(data, **kwargs)
        except mock_answers.MALFORMED:
            return _error(400, "Invalid request parameters.", "invalid_request_error", None)
        if answer is not None:
            if delay:
                await asyncio.sleep(delay * answer["usage"]["completion_tokens"])
            return web.Response(body=orjson.dumps(answer), content_type="application/json", headers=headers)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", **headers})
        await response.prepare(request)
        if fault == "cut":
            chunks = chunks[: len(chunks) // 2]
        try:
            for chunk in chunks:
                if delay and chunk["choices"] and "content" in chunk["choices"][0]["delta"]:
                    await asyncio.sleep(delay)
                await response.write(sse(chunk))
        except (ConnectionError, asyncio.CancelledError):
            self.cancelled.append(model)
            raise
        if fault == "cut":
            request.transport.close()
            return response
        await response.write(DONE)
        await response.write_eof()
        return response

    async def anthropic_messages(self, request):
        """Anthropic's Messages API, answering like the OpenAI mock (same words, same token counts)."""
        body = await request.read()
        self.received.append((dict(request.headers), body))
        if not (request.headers.get("x-api-key") or request.headers.get("Authorization", "").startswith("Bearer ")):
            return _anthropic_error(401, "authentication_error", "an x-api-key or Authorization header is required")
        data = json.loads(body)
        fault = FAULT.search(data["model"])
        if fault and fault.group(1) in ("429", "529"):
            kind = "rate_limit_error" if fault.group(1) == "429" else "overloaded_error"
            return _anthropic_error(int(fault.group(1)), kind, "Mock fault", {"retry-after": "1"})
        answer, request_like = anthropic_answer(data)
        message = {
            "id": f"msg_mock{next(self._ids)}", "type": "message", "role": "assistant", "model": data["model"],
            "content": [], "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": mock_answers.prompt_tokens(request_like), "output_tokens": answer.completion_tokens},
        }
        if answer.call:
            block = {"type": "tool_use", "id": "toolu_mock_0", "name": answer.call["name"], "input": json.loads(answer.call["arguments"])}
        else:
            block = {"type": "text", "text": "".join(answer.tokens)}
        stop_reason = {"tool_calls": "tool_use", "length": "max_tokens"}.get(answer.finish_reason, "end_turn")
        if not data.get("stream"):
            return web.json_response({**message, "content": [block], "stop_reason": stop_reason})
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        events = [("message_start", {"message": {**message, "usage": {**message["usage"], "output_tokens": 1}}})]
        if answer.call:
            events += [("content_block_start", {"index": 0, "content_block": {**block, "input": {}}}),
                       ("content_block_delta", {"index": 0, "delta": {"type": "input_json_delta",
                                                                      "partial_json": answer.call["arguments"]}})]
        else:
            events += [("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}})]
            events += [("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": token}})
                       for token in answer.tokens]
        events += [("content_block_stop", {"index": 0}),
                   ("message_delta", {"delta": {"stop_reason": stop_reason, "stop_sequence": None},
                                      "usage": {"output_tokens": answer.completion_tokens}}),
                   ("message_stop", {})]
        for kind, event in events:
            await response.write(f"event: {kind}\ndata: ".encode() + orjson.dumps({"type": kind, **event}) + b"\n\n")
        await response.write_eof()
        return response

    def start_in_thread(self, host="127.0.0.1", port=0) -> str:
        """Serve on a background thread's event loop and return the base URL (`.../v1`)."""
        started = threading.Event()

        async def serve():
            self._runner = web.AppRunner(self.app, access_log=None)
            await self._runner.setup()
            site = web.TCPSite(self._runner, host, port, backlog=4096)
            await site.start()
            self.port = self._runner.addresses[0][1]
            started.set()

        self._loop = asyncio.new_event_loop()
        threading.Thread(target=self._loop.run_forever, daemon=True).start()
        asyncio.run_coroutine_threadsafe(serve(), self._loop)
        started.wait(10)
        return f"http://{host}:{self.port}/v1"

    def stop(self):
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)


def anthropic_answer(data: dict):
    """The mock's answer to an Anthropic request, planned as for the OpenAI-shaped one it stands for."""
    def text(content):
        return content if isinstance(content, str) else " ".join(b.get("text", "") for b in content if b.get("type") == "text")

    messages = [{"role": m["role"], "content": text(m["content"])} for m in data["messages"]]
    request_like = {"model": data["model"], "max_tokens": data.get("max_tokens"), "stop": data.get("stop_sequences"),
                    "messages": ([{"role": "system", "content": data["system"]}] if data.get("system") else []) + messages}
    choice = data.get("tool_choice") or {}
    if data.get("tools") and choice.get("type") != "none":
        name = choice["name"] if choice.get("type") == "tool" else data["tools"][0]["name"]
        request_like["tools"] = [{"type": "function", "function": {"name": name}}]
    return mock_answers.plan(request_like), request_like


def _anthropic_error(status, kind, message, headers=None):
    body = {"type": "error", "error": {"type": kind, "message": message}}
    return web.Response(status=status, body=orjson.dumps(body), content_type="application/json", headers=headers)


def _error(status, message, type_, code, headers=None):
    body = {"error": {"message": message, "type": type_, "param": None, "code": code}}
    return web.Response(status=status, body=orjson.dumps(body), content_type="application/json", headers=headers)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9100)
    parser.add_argument("--tokens", type=int, help="words per answer (default: a short echo)")
    parser.add_argument("--token-delay-ms", type=float, default=0.0)
    args = parser.parse_args()
    upstream = MockUpstream(tokens=args.tokens, token_delay=args.token_delay_ms / 1000)
    # A deep accept queue: a burst of hundreds of new connections must not see SYNs dropped (1 s retries).
    web.run_app(upstream.app, host=args.host, port=args.port, access_log=None, print=None, backlog=4096)


if __name__ == "__main__":
    main()
