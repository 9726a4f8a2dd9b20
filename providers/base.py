"""The provider interface: the pipeline's last plugin, which calls a model vendor."""

import orjson

from gateway.errors import UpstreamError
from gateway.plugins.interface import Plugin, ProviderResponse, RequestContext


class Provider(Plugin):
    """A model vendor behind Prism's doors.

    Subclasses provide `send()`, returning the vendor's answer to `context.upstream_operation` in that
    operation's wire format; `handle()` puts it on the context, parsing only what accounting needs.
    `operations` names what the vendor serves itself; other operations reach it translated to chat.
    """

    name = ""
    models: tuple[str, ...] = ()
    operations: frozenset[str] = frozenset({"chat"})

    def supports(self, operation) -> bool:
        return operation.name in self.operations

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
        if response.stream is None and response.status == 200:
            context.response_data = _json_object(response.body)
            context.usage = context.upstream_operation.usage_of(context.response_data.get("usage"))
        elif response.stream is None:  # relayed as it came, whatever its shape; parsed only to name the error
            context.response_data = _json_or_none(response.body)
        context.response = response
        if next is not None:
            await next(context)


def _json_or_none(body: bytes) -> dict | None:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return data if isinstance(data, dict) else None


def _json_object(body: bytes) -> dict:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise UpstreamError() from None
    if not isinstance(data, dict):
        raise UpstreamError()
    return data
