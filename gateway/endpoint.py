"""POST /v1/chat/completions: the hot path, a plain ASGI app that Channels routes to.

It reads the body, runs the pipeline, relays the provider's answer (streamed or whole)
and hands the usage record to the batch writer. Nothing here touches the database.
"""

import logging

from django.conf import settings
from django.db import DatabaseError

from .errors import GatewayError, MethodNotAllowed, PayloadTooLarge, ServiceUnavailable
from .observability import request_observe
from .pipeline import pipeline_from_settings
from .plugins.interface import RequestContext
from .streaming import error_event, stream_relay
from .usage_writer import usage_record, usage_writer

logger = logging.getLogger(__name__)

JSON_HEADERS = [(b"content-type", b"application/json")]
SSE_HEADERS = [(b"content-type", b"text/event-stream; charset=utf-8"), (b"cache-control", b"no-cache")]


def bearer_token(headers) -> str | None:
    for name, value in headers:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" else None
    return None


async def body_read(receive, limit: int) -> bytes:
    chunks, size, more = [], 0, True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise GatewayError("The client disconnected.")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"The request body is larger than {limit} bytes.")
        chunks.append(chunk)
        more = message.get("more_body", False)
    return b"".join(chunks)


async def send_whole(send, status: int, headers: list, body: bytes) -> None:
    headers = headers + [(b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _merge(upstream: list, own: list) -> list:
    """The upstream's headers, less those that Prism's own plugins set (its rate limits beat OpenAI's)."""
    if not own:
        return upstream
    names = {name for name, _ in own}
    return [(name, value) for name, value in upstream if name.lower() not in names] + own


def _gateway_error(raised: Exception, request_id: str) -> GatewayError:
    """The error to answer with; anything unexpected is logged here and never reaches the client."""
    if isinstance(raised, GatewayError):
        return raised
    if isinstance(raised, DatabaseError):
        logger.exception("Database error in request %s", request_id)
        return ServiceUnavailable("Prism's database is unavailable.")
    logger.exception("Internal error in request %s", request_id)
    return GatewayError()


class ChatCompletionsEndpoint:
    def __init__(self):
        self.pipeline = None

    async def __call__(self, scope, receive, send):
        if self.pipeline is None:
            pipeline = pipeline_from_settings()
            await pipeline.initialize()
            self.pipeline = pipeline
        context = RequestContext(request_data={})
        id_header = [(b"x-prism-request-id", context.request_id.encode())]
        streaming = False
        try:
            if scope["method"] != "POST":
                raise MethodNotAllowed(f"Method {scope['method']} is not allowed; use POST.", headers=[(b"allow", b"POST")])
            context.body = await body_read(receive, settings.PRISM_MAX_BODY_BYTES)
            context.metadata["bearer"] = bearer_token(scope["headers"])
            await self.pipeline.run(context)
            response = context.response
            headers = _merge(response.headers, context.response_headers) + id_header
            if response.stream is None:
                await send_whole(send, response.status, JSON_HEADERS + headers, response.body)
            else:
                await send({"type": "http.response.start", "status": response.status, "headers": SSE_HEADERS + headers})
                streaming = True
                await stream_relay(context, send, receive)
        except Exception as raised:  # the one place any failure becomes an answer in OpenAI's shape
            context.error = error = _gateway_error(raised, context.request_id)
            if streaming:
                await send({"type": "http.response.body", "body": error_event(error)})
            else:
                headers = JSON_HEADERS + error.headers + context.response_headers + id_header
                await send_whole(send, error.status_code, headers, error.body())
        finally:
            if context.api_key is not None:
                record = usage_record(context)
                usage_writer.add(record)
                request_observe(record, context.api_key.tenant_name)
            for finish in context.finishers:
                await finish(context)
