"""OpenAI, or any server speaking its API: the client's JSON goes out as bytes and the answer comes back as bytes."""

import asyncio

import aiohttp
from django.conf import settings

from gateway.errors import (
    GatewayTimeout,
    ServiceUnavailable,
    UpstreamError,
    UpstreamUnreachable,
)
from gateway.plugins.interface import ProviderResponse

from .base import Provider

# Upstream headers worth passing on to the client.
RELAYED_HEADERS = frozenset(
    [b"x-request-id", b"openai-processing-ms", b"openai-version", b"retry-after", b"retry-after-ms"]
)


class OpenAIProvider(Provider):
    name = "openai_provider"
    models = (
        "gpt-5",
        "gpt-5-mini",
        "gpt-5-nano",
        "gpt-4.1",
        "gpt-4.1-mini",
        "gpt-4.1-nano",
        "gpt-4o",
        "gpt-4o-mini",
        "o4-mini",
        "o3",
        "o3-mini",
        "o1",
        "gpt-4-turbo",
        "gpt-4",
        "gpt-3.5-turbo",
    )

    def __init__(self):
        self._session = None

    @property
    def configured(self) -> bool:
        return bool(settings.OPENAI_API_KEY)

    async def initialize(self):
        self.configure(base_url=settings.OPENAI_BASE_URL, api_key=settings.OPENAI_API_KEY, missing="set OPENAI_API_KEY")

    def configure(self, *, base_url: str, api_key: str, missing: str, key_header=("Authorization", "Bearer {}")):
        """Where requests go and how they authenticate; `missing` says what to set when the key is absent."""
        self.base_url = base_url.rstrip("/")
        self.api_key, self.missing, self.key_header = api_key, missing, key_header
        self.headers = self.headers_for(api_key)

    def headers_for(self, api_key: str) -> dict:
        return {self.key_header[0]: self.key_header[1].format(api_key), "Content-Type": "application/json"}

    def base(self, context) -> str:
        """The base URL for this request: the routing rule's endpoint, or the provider's own."""
        return context.route.endpoint.rstrip("/") if context.route and context.route.endpoint else self.base_url

    def target(self, context) -> str:
        """The URL of this request (Azure's names the deployment)."""
        return self.base(context) + "/chat/completions"

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
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def send(self, context):
        tenant_key = context.provider_keys.get(self.name)
        if not (tenant_key or self.api_key):
            raise ServiceUnavailable(f"The provider {self.name} is not configured: {self.missing}.")
        timeout = upstream_timeout((context.route and context.route.timeout) or settings.PRISM_UPSTREAM_TIMEOUT)
        try:
            response = await self.session().post(
                self.target(context), data=context.body_bytes(), timeout=timeout,
                headers=self.headers_for(tenant_key) if tenant_key else self.headers,
            )
        except asyncio.TimeoutError:
            raise GatewayTimeout() from None
        except aiohttp.ClientError:
            raise UpstreamUnreachable() from None
        headers = [(name, value) for name, value in response.raw_headers if _relayed(name)]
        # The raw header: aiohttp's content_type parses it with the email package, a cost on every stream.
        if context.stream and response.status == 200 and response.headers.get("Content-Type", "").startswith("text/event-stream"):
            return ProviderResponse(response.status, headers, stream=_stream(response))
        try:
            body = await response.read()
        except asyncio.TimeoutError:
            raise GatewayTimeout() from None
        except aiohttp.ClientError:
            raise UpstreamError("The upstream provider closed the connection mid-answer.") from None
        finally:
            response.release()
        return ProviderResponse(response.status, headers, body=body)


def upstream_timeout(total: float) -> aiohttp.ClientTimeout:
    """Connect, first byte (and any pause in a stream), and total, from the settings."""
    return aiohttp.ClientTimeout(
        total=total,
        sock_connect=settings.PRISM_UPSTREAM_CONNECT_TIMEOUT,
        sock_read=settings.PRISM_UPSTREAM_READ_TIMEOUT,
    )


def _relayed(header: bytes) -> bool:
    header = header.lower()
    return header in RELAYED_HEADERS or header.startswith(b"x-ratelimit-")


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
