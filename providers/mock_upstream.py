"""An HTTP server speaking OpenAI's and Anthropic's wire formats with deterministic answers: the upstream for tests and benchmarks.

Routes (OpenAI's also under Azure's /openai/v1; Responses also under /openai):
  POST /v1/chat/completions, /v1/completions, /v1/embeddings, /v1/moderations
  POST /openai/deployments/{deployment}/chat/completions, .../completions, .../embeddings   (Azure)
  POST /v1/responses; GET, DELETE /v1/responses/{id}; POST /v1/responses/{id}/cancel;
  GET  /v1/responses/{id}/input_items                                     (mock_upstream_responses)
  POST /v1/messages (also ?beta=true), /v1/messages/count_tokens           (Anthropic: mock_upstream_anthropic)
  GET  /v1/models   Anthropic's list when the request has an anthropic-version header, else OpenAI's
The answers, and the model names that choose their token classes, are in mock_answers (chat), mock_completions,
mock_embeddings, mock_moderations, mock_responses and mock_anthropic.

Faults and delays are chosen per request by the model's name, since Prism forwards no client headers:
  *-fault-429, *-fault-500, *-fault-503   that error, in OpenAI's shape (429 with Retry-After);
                                          Anthropic's routes answer 429, 500 and 529 in Anthropic's shape
  *-fault-garbage                         200 with a body that is not JSON
  *-fault-cut                             a stream that stops half-way, without its end
  *-flaky-<n>                             503 (Anthropic: 529) for the first n requests with this exact model name
  *-delay-<ms>                            wait that long before each token
Every request's headers and body are kept in `received` and its path in `paths`; streams that the client
abandons are noted in `cancelled` (their model names).
Run it alone with `python -m providers.mock_upstream --port 9100 [--tokens 20] [--token-delay-ms 0]`.
"""

import argparse
import asyncio
import itertools
import json
import threading
import time
from collections import deque

from aiohttp import web

from . import mock_anthropic, mock_answers, mock_completions, mock_embeddings, mock_moderations
from .mock_http import (
    ANTHROPIC_ERRORS,
    GARBAGE,
    OPENAI_ERRORS,
    RATE_LIMIT_HEADERS,
    Faults,
    anthropic_error,
    anthropic_fault,
    delay_of,
    json_response,
    openai_error,
    openai_fault,
)
from .mock_upstream_anthropic import AnthropicRoutes
from .mock_upstream_responses import ResponseRoutes
from .sse import DONE, sse


class MockUpstream:
    def __init__(self, *, tokens: int | None = None, token_delay: float = 0.0):
        self.tokens = tokens
        self.token_delay = token_delay
        self.received = deque(maxlen=10_000)  # (headers, body bytes) of each request
        self.cancelled = deque(maxlen=10_000)
        self.paths = deque(maxlen=10_000)
        self.faults = Faults()
        self._ids = itertools.count()
        self.app = web.Application()
        router = self.app.router
        for prefix in ("/v1", "/openai/v1"):
            router.add_post(f"{prefix}/chat/completions", self.openai(self.chat_completions))
            router.add_post(f"{prefix}/completions", self.openai(self.completions))
            router.add_post(f"{prefix}/embeddings", self.openai(self.embeddings))
        for operation, handler in (("chat/completions", self.chat_completions), ("completions", self.completions),
                                   ("embeddings", self.embeddings)):
            router.add_post(f"/openai/deployments/{{deployment}}/{operation}", self.openai(handler))
        router.add_post("/v1/moderations", self.openai(self.moderations))
        responses = ResponseRoutes(self)
        for prefix in ("/v1", "/openai/v1", "/openai"):
            responses.add_to(router, prefix)
        AnthropicRoutes(self).add_to(router)
        router.add_get("/v1/models", self.models)

    def next_id(self) -> int:
        return next(self._ids)

    def _record(self, request, body: bytes):
        self.received.append((dict(request.headers), body))
        self.paths.append(request.path_qs)

    def openai(self, handler):
        """`handler(request, data, fault)` behind what every OpenAI route does first: record, authenticate,
        parse, and answer the model's fault; a request the answer builders cannot read gets 400."""
        async def route(request):
            body = await request.read()
            self._record(request, body)
            if not (request.headers.get("Authorization", "").startswith("Bearer ") or request.headers.get("api-key")):
                return openai_error(401, "You didn't provide an API key.", "invalid_request_error", None)
            data = fault = None
            if body:  # a POST without one (cancel) has no model either
                try:
                    data = json.loads(body)  # not orjson: numbers such as 1e400 must pass, as they do at OpenAI
                    fault = self.faults.of(data.get("model") or "", flaky_status="503")
                except mock_answers.MALFORMED:
                    return openai_error(400, "We could not parse the JSON body of your request.", "invalid_request_error", None)
                if fault in OPENAI_ERRORS:
                    return openai_fault(fault)
                if fault == "garbage":
                    return web.Response(body=GARBAGE, content_type="application/json")
            try:
                return await handler(request, data, fault)
            except mock_embeddings.InvalidInput as error:
                return openai_error(400, str(error), "invalid_request_error", None, param=error.param)
            except mock_answers.MALFORMED:
                return openai_error(400, "Invalid request parameters.", "invalid_request_error", None)
        return route

    def anthropic(self, handler):
        """As `openai`, in Anthropic's shapes: `handler(request, data, fault, request_id)`."""
        async def route(request):
            body = await request.read()
            self._record(request, body)
            request_id = f"req_mock{self.next_id()}"
            if not (request.headers.get("x-api-key") or request.headers.get("Authorization", "").startswith("Bearer ")):
                return anthropic_error(401, "authentication_error", "invalid x-api-key", request_id=request_id)
            try:
                data = json.loads(body)  # not orjson: numbers such as 1e400 must pass, as they do at OpenAI
                fault = self.faults.of(data.get("model") or "", flaky_status="529")
                if fault in ANTHROPIC_ERRORS:
                    return anthropic_fault(fault, request_id=request_id)
                if fault == "garbage":
                    return web.Response(body=GARBAGE, content_type="application/json")
                return await handler(request, data, fault, request_id)
            except mock_answers.MALFORMED as error:
                message = str(error) if isinstance(error, ValueError) else "The request body is not a valid Messages request."
                return anthropic_error(400, "invalid_request_error", message, request_id=request_id)
        return route

    async def answer(self, body: dict, *, model: str, tokens: int, headers: dict) -> web.Response:
        """A whole answer, after the time its tokens would have taken."""
        delay = delay_of(model, self.token_delay)
        if delay:
            await asyncio.sleep(delay * tokens)
        return json_response(body, headers=headers)

    async def stream(self, request, events: list[tuple[bytes, bool]], *, model: str, fault: str | None,
                     headers: dict, end: bytes = b"") -> web.StreamResponse:
        """Send (bytes, is a token) events as they would come, waiting before tokens; a `cut` stops half-way."""
        delay = delay_of(model, self.token_delay)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", **headers})
        await response.prepare(request)
        if fault == "cut":
            events = events[: len(events) // 2]
        try:
            for event, is_token in events:
                if delay and is_token:
                    await asyncio.sleep(delay)
                await response.write(event)
        except (ConnectionError, asyncio.CancelledError):
            self.cancelled.append(model)
            raise
        if fault == "cut":
            request.transport.close()
            return response
        if end:
            await response.write(end)
        await response.write_eof()
        return response

    def _openai_headers(self) -> dict:
        return {"x-request-id": f"req_mock_{self.next_id()}", **RATE_LIMIT_HEADERS}

    async def chat_completions(self, request, data, fault):
        return await self._completions(request, data, fault, mock_answers, "chatcmpl")

    async def completions(self, request, data, fault):
        return await self._completions(request, data, fault, mock_completions, "cmpl")

    async def _completions(self, request, data, fault, answers, prefix):
        """Chat and legacy completions: one answer, or its chunks then `data: [DONE]`."""
        headers = self._openai_headers()
        kwargs = {"completion_id": f"{prefix}-mock{self.next_id()}", "created": int(time.time()), "length": self.tokens}
        if not data.get("stream"):
            answer = answers.completion(data, **kwargs)
            return await self.answer(answer, model=data["model"], tokens=answer["usage"]["completion_tokens"],
                                     headers=headers)
        events = [(sse(chunk), _is_token(chunk)) for chunk in answers.chunks(data, **kwargs)]
        return await self.stream(request, events, model=data["model"], fault=fault, headers=headers, end=DONE)

    async def embeddings(self, request, data, fault):
        return json_response(mock_embeddings.embeddings(data), headers=self._openai_headers())

    async def moderations(self, request, data, fault):
        answer = mock_moderations.moderation(data, moderation_id=f"modr-mock{self.next_id()}")
        return json_response(answer, headers=self._openai_headers())

    async def models(self, request):
        self._record(request, b"")
        if "anthropic-version" not in request.headers:
            return json_response({"object": "list", "data": []})
        query = request.query
        page = mock_anthropic.models_page(limit=int(query.get("limit", 20)), after_id=query.get("after_id"),
                                          before_id=query.get("before_id"))
        return json_response(page)

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


def _is_token(chunk: dict) -> bool:
    """A chunk with text in it (chat's first, empty one included), worth the wait of a token."""
    choices = chunk["choices"]
    return bool(choices) and ("content" in choices[0].get("delta", ()) or bool(choices[0].get("text")))


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
