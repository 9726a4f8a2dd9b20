"""Bytes out, bytes back: one pool of upstream connections per provider (and event loop).

The client's JSON goes upstream as sent; the answer comes back as bytes, whole or as a stream read as
it arrives, with the upstream headers worth passing on to the client. The connections are
providers/upstream_http.py's: a lean HTTP/1.1 client, for what every call through Prism pays.
"""

import asyncio

from django.conf import settings

from gateway.errors import GatewayTimeout, UpstreamError, UpstreamUnreachable
from gateway.plugins.interface import ProviderResponse

from .upstream_http import Answer, Cut, Timeouts, Unreachable, UpstreamClient

RELAYED_HEADERS = frozenset(
    [b"x-request-id", b"request-id", b"openai-processing-ms", b"openai-version", b"retry-after", b"retry-after-ms"]
)
RELAYED_PREFIXES = (b"x-ratelimit-", b"anthropic-ratelimit-")


class HttpRelay:
    def __init__(self):
        self._client = None

    def client(self) -> UpstreamClient:
        """The process's pooled client; a new one only if the event loop changed (as between tests)."""
        loop = asyncio.get_running_loop()
        if self._client is None or self._client.loop is not loop:
            self._client = UpstreamClient()
        return self._client

    async def close(self):
        """Close the pooled connections, on the event loop that opened them (a test's server runs its own)."""
        client = self._client
        if client is None:
            return
        if client.loop is asyncio.get_running_loop():
            client.close()
        elif client.loop.is_running():
            client.loop.call_soon_threadsafe(client.close)

    async def send(self, context, url: str, headers: dict) -> ProviderResponse:
        """Send the context's request to `url`; the answer is streamed if the client asked and the upstream streams."""
        timeouts = upstream_timeouts((context.route and context.route.timeout) or settings.PRISM_UPSTREAM_TIMEOUT)
        operation = context.upstream_operation
        try:
            answer = await self.client().request(operation.method, url, headers,
                                                 context.body_bytes() if operation.check else None, timeouts)
        except TimeoutError:
            raise GatewayTimeout() from None
        except (Unreachable, Cut):
            raise UpstreamUnreachable() from None
        relayed = [(name, value) for name, value in answer.raw_headers if _relayed(name)]
        if context.stream and answer.status == 200 and answer.header(b"content-type").startswith(b"text/event-stream"):
            return ProviderResponse(answer.status, relayed, stream=_stream(answer))
        try:
            body = await answer.read()
        except TimeoutError:
            raise GatewayTimeout() from None
        except Cut:
            raise UpstreamError("The upstream provider closed the connection mid-answer.") from None
        return ProviderResponse(answer.status, relayed, body=body)


def upstream_timeouts(total: float) -> Timeouts:
    """Connect, first byte (and any pause in a stream), and total, from the settings."""
    return Timeouts(settings.PRISM_UPSTREAM_CONNECT_TIMEOUT, settings.PRISM_UPSTREAM_READ_TIMEOUT, total)


def _relayed(header: bytes) -> bool:
    header = header.lower()
    return header in RELAYED_HEADERS or header.startswith(RELAYED_PREFIXES)


async def _stream(answer: Answer):
    """Yield the upstream's bytes as they arrive; the connection is closed if the client stops reading."""
    try:
        async for chunk in answer.chunks():
            yield chunk
    except TimeoutError:
        raise GatewayTimeout() from None
    except Cut:
        raise UpstreamError("The upstream provider cut the stream.") from None
