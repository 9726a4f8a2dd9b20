"""Claude models through Anthropic's Messages API, translated to and from OpenAI's wire format.

One pooled client of the official `anthropic` package per process (and event loop); Prism does
the retries itself, so the client's own are off.
"""

import asyncio

import anthropic
import orjson
from django.conf import settings

from gateway.errors import (
    GatewayError,
    GatewayTimeout,
    InvalidRequest,
    ModelNotFound,
    RateLimited,
    ServiceUnavailable,
    UpstreamError,
    UpstreamUnreachable,
)
from gateway.plugins.interface import ProviderResponse

from .anthropic_translation import (
    StreamTranslator,
    message_to_completion,
    request_to_anthropic,
)
from .base import Provider
from .sse import DONE, sse

# Anthropic's statuses, as the OpenAI-shaped error Prism answers with.
ERRORS = {
    400: InvalidRequest,
    404: ModelNotFound,
    429: RateLimited,
    529: ServiceUnavailable,  # overloaded
    503: ServiceUnavailable,
}


class AnthropicProvider(Provider):
    name = "anthropic_provider"
    models = ("claude-opus-4-1", "claude-sonnet-4-5", "claude-haiku-4-5")

    def __init__(self):
        self._clients = {}

    @property
    def configured(self) -> bool:
        return bool(settings.ANTHROPIC_API_KEY)

    async def initialize(self):
        self.api_key, self.base_url = settings.ANTHROPIC_API_KEY, settings.ANTHROPIC_BASE_URL

    def client(self) -> anthropic.AsyncAnthropic:
        loop = asyncio.get_running_loop()
        if loop not in self._clients:
            self._clients[loop] = anthropic.AsyncAnthropic(
                api_key=self.api_key, base_url=self.base_url, max_retries=0, timeout=settings.PRISM_UPSTREAM_TIMEOUT
            )
        return self._clients[loop]

    async def close(self):
        for client in self._clients.values():
            await client.close()

    async def send(self, context):
        tenant_key = context.provider_keys.get(self.name)
        if not (tenant_key or self.api_key):
            raise ServiceUnavailable(f"The provider {self.name} is not configured: set ANTHROPIC_API_KEY.")
        kwargs = request_to_anthropic(context.request_data)
        client = self.client()
        if tenant_key:  # shares the pooled connections
            client = client.with_options(api_key=tenant_key)
        if context.route and context.route.timeout:
            client = client.with_options(timeout=context.route.timeout)
        try:
            if context.stream:
                include_usage = bool((context.request_data.get("stream_options") or {}).get("include_usage"))
                events = await client.messages.create(**kwargs, stream=True)
                return ProviderResponse(200, stream=_sse(events, StreamTranslator(include_usage=include_usage)))
            message = await client.messages.create(**kwargs)
        except anthropic.APIStatusError as error:
            return _error_response(error)
        except anthropic.APITimeoutError:
            raise GatewayTimeout() from None
        except anthropic.APIConnectionError:
            raise UpstreamUnreachable() from None
        return ProviderResponse(200, body=orjson.dumps(message_to_completion(message.model_dump())))


def _error_response(error: anthropic.APIStatusError) -> ProviderResponse:
    """Anthropic's error as the answer OpenAI would give, with its status and Retry-After."""
    message = getattr(error, "message", None) or "The upstream provider returned an error."
    error_class = ERRORS.get(error.status_code, UpstreamError)
    gateway_error: GatewayError = error_class(f"Anthropic: {message}")
    headers = [(b"retry-after", value.encode()) for name, value in error.response.headers.items() if name == "retry-after"]
    return ProviderResponse(gateway_error.status_code, headers, body=gateway_error.body())


async def _sse(events, translator: StreamTranslator):
    try:
        async for event in events:
            for chunk in translator.chunks(event.model_dump()):
                yield sse(chunk)
        yield DONE
    except anthropic.APIError as error:
        raise UpstreamError(f"Anthropic: {error.message}") from None
    finally:
        await events.close()
