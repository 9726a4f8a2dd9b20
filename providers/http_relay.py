"""Bytes out, bytes back: one pooled aiohttp session per provider, shared by every same-format provider.

The client's JSON goes upstream as sent; the answer comes back as bytes, whole or as a stream read as
it arrives, with the upstream headers worth passing on to the client.
"""

import asyncio

import aiohttp
from django.conf import settings

from gateway.errors import GatewayTimeout, UpstreamError, UpstreamUnreachable
from gateway.plugins.interface import ProviderResponse

RELAYED_HEADERS = frozenset(
    [b"x-request-id", b"request-id", b"openai-processing-ms", b"openai-version", b"retry-after", b"retry-after-ms"]
)
RELAYED_PREFIXES = (b"x-ratelimit-", b"anthropic-ratelimit-")


class HttpRelay:
    def __init__(self):
        self._session = None

    def session(self) -> aiohttp.ClientSession:
        """The process's pooled client; a new one only if the event loop changed (as between tests)."""
        loop = asyncio.get_running_loop()
        if self._session is None or self._session.closed or self._session._loop is not loop:
            connector = aiohttp.TCPConnector(limit=0)
            self._session = aiohttp.ClientSession(
                connector=connector, auto_decompress=True, skip_auto_headers=["User-Agent"]
            )
        return self._session

    async def close(self):
        """Close the pooled connections, on the event loop that opened them (a test's server runs its own)."""
        session = self._session
        if session is None or session.closed:
            return
        if session._loop is asyncio.get_running_loop():
            await session.close()
        elif session._loop.is_running():
            asyncio.run_coroutine_threadsafe(session.close(), session._loop)

    async def send(self, context, url: str, headers: dict) -> ProviderResponse:
        """Send the context's request to `url`; the answer is streamed if the client asked and the upstream streams."""
        timeout = upstream_timeout((context.route and context.route.timeout) or settings.PRISM_UPSTREAM_TIMEOUT)
        operation = context.upstream_operation
        try:
            response = await self.session().request(
                operation.method, url, headers=headers, timeout=timeout,
                data=context.body_bytes() if operation.check else None,
            )
        except asyncio.TimeoutError:
            raise GatewayTimeout() from None
        except aiohttp.ClientError:
            raise UpstreamUnreachable() from None
        relayed = [(name, value) for name, value in response.raw_headers if _relayed(name)]
        # The raw header: aiohttp's content_type parses it with the email package, a cost on every stream.
        if context.stream and response.status == 200 and response.headers.get("Content-Type", "").startswith(
                "text/event-stream"):
            return ProviderResponse(response.status, relayed, stream=_stream(response))
        try:
            body = await response.read()
        except asyncio.TimeoutError:
            raise GatewayTimeout() from None
        except aiohttp.ClientError:
            raise UpstreamError("The upstream provider closed the connection mid-answer.") from None
        finally:
            response.release()
        return ProviderResponse(response.status, relayed, body=body)


def upstream_timeout(total: float) -> aiohttp.ClientTimeout:
    """Connect, first byte (and any pause in a stream), and total, from the settings."""
    return aiohttp.ClientTimeout(
        total=total,
        sock_connect=settings.PRISM_UPSTREAM_CONNECT_TIMEOUT,
        sock_read=settings.PRISM_UPSTREAM_READ_TIMEOUT,
    )


def _relayed(header: bytes) -> bool:
    header = header.lower()
    return header in RELAYED_HEADERS or header.startswith(RELAYED_PREFIXES)


async def _stream(response: aiohttp.ClientResponse):
    """Yield the upstream's bytes as they arrive; close the connection if the client stops reading."""
    finished = False
    try:
        async for chunk in response.content.iter_any():
            yield chunk
        finished = True
    except asyncio.TimeoutError:
        raise GatewayTimeout() from None
    except aiohttp.ClientError:
        raise UpstreamError("The upstream provider cut the stream.") from None
    finally:
        if finished:
            response.release()
        else:
            response.close()
