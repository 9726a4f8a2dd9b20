"""The provider interface: the pipeline's last plugin, which calls a model vendor."""

import orjson

from gateway.errors import UpstreamError
from gateway.plugins.interface import Plugin, ProviderResponse, RequestContext


class Provider(Plugin):
    """A model vendor behind Prism's OpenAI-shaped endpoint.

    Subclasses provide `send()`, returning the vendor's answer in OpenAI's wire format;
    `handle()` puts it on the context, parsing only what accounting needs.
    """

    name = ""
    models: tuple[str, ...] = ()

    @property
    def configured(self) -> bool:
        """Whether Prism has what it needs to call this provider (a key, an endpoint); else it is not listed."""
        return True

    async def send(self, context: RequestContext) -> ProviderResponse:
        raise NotImplementedError("subclasses of Provider must provide a send() method")

    async def close(self) -> None:
        """Release pooled connections."""

    async def handle(self, context, next):
        response = await self.send(context)
        if response.stream is None:
            context.response_data = _json_object(response.body)
            if response.status == 200:
                context.usage = context.response_data.get("usage")
            elif "error" not in context.response_data:
                raise UpstreamError()
        context.response = response
        if next is not None:
            await next(context)


def _json_object(body: bytes) -> dict:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise UpstreamError() from None
    if not isinstance(data, dict):
        raise UpstreamError()
    return data
