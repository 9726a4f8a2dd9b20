"""Prism's doors: one plain ASGI app that Channels routes every model call to, whatever the operation.

It reads the body, runs the pipeline, relays the provider's answer (streamed or whole, translated
back where the provider speaks another format) and hands the usage record to the batch writer before
the answer ends (a stream's end event, a whole answer's body): once a client has its whole answer, its
record is in the spool, even if the process is killed at once. Nothing here touches the database.
"""

import logging

from django.conf import settings
from django.db import DatabaseError

from . import cors
from .errors import GatewayError, MethodNotAllowed, PayloadTooLarge, ServiceUnavailable
from .observability import request_observe
from .operations import Operation
from .pipeline import pipeline_shared
from .plugins.interface import RequestContext
from .streaming import stream_relay
from .usage_writer import usage_record, usage_writer

logger = logging.getLogger(__name__)

JSON_HEADERS = [(b"content-type", b"application/json")]
SSE_HEADERS = [(b"content-type", b"text/event-stream; charset=utf-8"), (b"cache-control", b"no-cache")]


def api_key_of(headers) -> str | None:
    """The Prism key: `Authorization: Bearer` (OpenAI's SDKs, Claude Code's auth token) or `x-api-key` (Anthropic's)."""
    for name, value in headers:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" else None
        if name == b"x-api-key":
            return value.decode("latin-1").strip()
    return None


def _content_length(headers) -> int | None:
    for name, value in headers:
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


async def body_read(receive, headers, limit: int) -> bytes:
    """The request body; one announced or grown larger than `limit` is refused before it is read whole."""
    announced = _content_length(headers)
    if announced is not None and announced > limit:
        raise PayloadTooLarge(f"The request body is larger than {limit} bytes.")
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


def _ids(context, upstream_headers=()) -> list:
    """Prism's request id, and `x-request-id` for the SDKs: the upstream's if it sent one, else Prism's."""
    own = [(b"x-prism-request-id", context.request_id.encode())]
    if any(name.lower() == b"x-request-id" for name, _ in upstream_headers):
        return own
    return own + [(b"x-request-id", context.request_id.encode())]


def _gateway_error(raised: Exception, request_id: str) -> GatewayError:
    """The error to answer with; anything unexpected is logged here and never reaches the client."""
    if isinstance(raised, GatewayError):
        return raised
    if isinstance(raised, DatabaseError):
        logger.exception("Database error in request %s", request_id)
        return ServiceUnavailable("Prism's database is unavailable.")
    logger.exception("Internal error in request %s", request_id)
    return GatewayError()


def _body(context) -> bytes:
    """The answer's body in the door's format: as the upstream sent it, unless it was translated."""
    response = context.response
    if context.translation is None:
        return response.body
    if response.status == 200:
        return context.translation.response(context)
    return context.operation.errors.upstream_error(response.status, response.body)


class GatewayEndpoint:
    """Serves the operations at one URL, one per HTTP method."""

    def __init__(self, *operations: Operation):
        self.operations = {operation.method: operation for operation in operations}
        self.allowed = ", ".join(self.operations).encode()

    async def __call__(self, scope, receive, send):
        pipeline = await pipeline_shared()
        headers = scope["headers"]
        if settings.PRISM_CORS_ORIGINS and scope["method"] == "OPTIONS":
            return await cors.preflight(scope, send, self.allowed)
        operation = self.operations.get(scope["method"])
        context = RequestContext(request_data={}, operation=operation or next(iter(self.operations.values())))
        context.metadata.update(headers=headers, path=scope.get("url_route", {}).get("kwargs", {}),
                                query=scope.get("query_string", b"").decode("latin-1"))
        own_headers = cors.headers(headers) if settings.PRISM_CORS_ORIGINS else []
        streaming = False
        try:
            if operation is None:
                raise MethodNotAllowed(f"Method {scope['method']} is not allowed; use {self.allowed.decode()}.",
                                       headers=[(b"allow", self.allowed)])
            if operation.check is not None:
                context.body = await body_read(receive, headers, settings.PRISM_MAX_BODY_BYTES)
            context.metadata["bearer"] = api_key_of(headers)
            await pipeline.run(context)
            response = context.response
            headers = _merge(response.headers, context.response_headers) + _ids(context, response.headers) + own_headers
            if response.stream is None:
                body = _body(context)
                _usage_add(context)
                await send_whole(send, response.status, JSON_HEADERS + headers, body)
            else:
                await send({"type": "http.response.start", "status": response.status, "headers": SSE_HEADERS + headers})
                streaming = True
                await stream_relay(context, send, receive, ending=_usage_add)
                _usage_add(context)
                if not context.metadata.get("client_gone"):
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
        except Exception as raised:  # the one place any failure becomes an answer in the door's shape
            context.error = error = _gateway_error(raised, context.request_id)
            _usage_add(context)
            if streaming:
                await send({"type": "http.response.body", "body": context.operation.errors.stream_error(error)})
            else:
                headers = JSON_HEADERS + error.headers + context.response_headers + _ids(context) + own_headers
                await send_whole(send, error.status_code, headers, context.operation.errors.error_body(error))
        finally:
            _usage_add(context)
            for finish in context.finishers:
                await finish(context)


def _usage_add(context) -> None:
    """Hand the request's usage record to the writer (once; finishers read it too)."""
    if context.api_key is not None and "usage_record" not in context.metadata:
        record = context.metadata["usage_record"] = usage_record(context)
        usage_writer.add(record)
        request_observe(record, context.api_key.tenant_name)
