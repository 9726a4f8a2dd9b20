"""Daphne on uvloop, less two of Twisted's costs per request: `python -m prism_site.serve_daphne [options] APP`.

Takes daphne's own options. The changes:
- It runs on uvloop, the event loop uvicorn picks by default.
- Twisted reads the Content-Type of every POST with the email package, looking for a form that daphne
  never reads; the answer for a header value is the same every time, so it is cached.
- Twisted formats an access log line for every request and sends it to its own log, which daphne
  discards below -v 2 (daphne writes its own access log); the line is no longer made.
- Twisted reads a whole request body before daphne hands it on, and daphne then holds all of it in
  memory: a body over PRISM_MAX_BODY_BYTES is refused (413 in OpenAI's shape, and the connection
  closed) as soon as its Content-Length, or the bytes received so far, exceed it.

Together about a fifth less CPU per streamed request (bench/RESULTS.md); everything else is daphne's.
"""

import asyncio
import functools
import os

import uvloop


def main():
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    # Imported only now: daphne makes its event loop when daphne.server is first imported.
    from daphne.cli import CommandLineInterface
    from daphne.http_protocol import HTTPFactory, WebRequest
    from twisted.web import http

    http._parseContentType = functools.lru_cache(maxsize=64)(http._parseContentType)
    HTTPFactory.log = lambda factory, request: None
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "prism_site.settings")
    from django.conf import settings

    _bodies_bound(http.HTTPChannel, WebRequest, settings.PRISM_MAX_BODY_BYTES)
    CommandLineInterface.entrypoint()


def _bodies_bound(channel_class, request_class, limit: int) -> None:
    """Refuse a request body over `limit` bytes before Twisted stores it: by its Content-Length once the
    headers are in, else (chunked) once the bytes received pass it."""
    from gateway.errors import PayloadTooLarge

    body = PayloadTooLarge(f"The request body is larger than {limit} bytes.").body()
    too_large = (b"HTTP/1.1 413 Payload Too Large\r\nContent-Type: application/json\r\nConnection: close\r\n"
                 b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
    all_headers_received, handle_content_chunk = channel_class.allHeadersReceived, request_class.handleContentChunk

    def refuse(channel, request):
        # The request never reaches the application, whatever is still on its way.
        request.handleContentChunk = request.requestReceived = lambda *args: None
        channel.transport.write(too_large)
        channel.loseConnection()

    def headers_checked(channel):
        if channel.length is not None and channel.length > limit:
            return refuse(channel, channel.requests[-1])
        all_headers_received(channel)

    def chunk_checked(request, data):
        if request.content.tell() + len(data) > limit:
            return refuse(request.channel, request)
        handle_content_chunk(request, data)

    channel_class.allHeadersReceived = headers_checked
    request_class.handleContentChunk = chunk_checked


if __name__ == "__main__":
    main()
