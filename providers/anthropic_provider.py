"""Claude models through Anthropic's Messages API.

Requests to Prism's own `/v1/messages` door go upstream as bytes, with the client's `anthropic-version`
and `anthropic-beta` headers and nothing added, so that prompt caching keeps working. Chat completions
are translated to and from Messages through one pooled client of the official `anthropic` package per
process (and event loop); Prism does the retries itself, so the client's own are off.
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
    ProviderNotConfigured,
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
from .http_relay import HttpRelay
from .sse import DONE, sse

ANTHROPIC_VERSION = "2023-06-01"
FORWARDED_HEADERS = (b"anthropic-version", b"anthropic-beta")

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
    operations = frozenset({"chat", "messages", "count_tokens"})

    def __init__(self):
        self._clients = {}
        self.http = HttpRelay()

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
        await self.http.close()

    async def send(self, context):
        route = context.route
        own_key = (route and route.api_key) or context.provider_keys.get(self.name)
        if not (own_key or self.api_key):
            raise ProviderNotConfigured(self.name, "set ANTHROPIC_API_KEY")
        endpoint = route.endpoint if route and route.endpoint else ""
        if context.upstream_operation.name == "chat":
            return await self._chat(context, own_key, endpoint)
        return await self.http.send(context, (endpoint or self.base_url).rstrip("/") + "/v1" + context.upstream_path(),
                                    _headers(context, own_key or self.api_key))

    async def _chat(self, context, own_key, endpoint):
        try:
            kwargs = request_to_anthropic(context.request_data)
        except (AttributeError, IndexError, KeyError, TypeError, ValueError):  # shapes OpenAI's format does not allow
            raise InvalidRequest("This request cannot be sent to an Anthropic model: its messages, tools or "
                                 "tool_choice are not in OpenAI's chat format.", param="messages") from None
        client = self.client()
        if own_key or endpoint:  # shares the pooled connections
            client = client.with_options(**({"api_key": own_key} if own_key else {}),
                                         **({"base_url": endpoint} if endpoint else {}))
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


def _headers(context, api_key: str) -> dict:
    """The provider's key instead of the Prism key, and the client's version and beta features, untouched."""
    headers = {"x-api-key": api_key, "content-type": "application/json", "anthropic-version": ANTHROPIC_VERSION}
    for name, value in context.metadata.get("headers", ()):
        if name in FORWARDED_HEADERS:
            headers[name.decode()] = value.decode("latin-1")
    return headers


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
