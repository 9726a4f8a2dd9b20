"""The spec's plugin test, as written (with gateway.plugins.interface for app.plugins.interface)."""

import pytest

from gateway.errors import ServiceUnavailable, UpstreamError
from gateway.plugins.interface import RequestContext
from providers.openai_provider import OpenAIProvider


@pytest.mark.asyncio
async def test_openai_basic(upstream):
    provider = OpenAIProvider()
    await provider.initialize()

    context = RequestContext(request_data={
        "model": "gpt-3.5-turbo",
        "messages": [{"role": "user", "content": "Hello"}]
    })

    await provider.handle(context, None)

    assert "choices" in context.response_data
    assert context.response_data["object"] == "chat.completion"
    await provider.close()


async def test_the_provider_sends_the_clients_bytes_untouched(upstream):
    provider = OpenAIProvider()
    await provider.initialize()
    body = b'{"model": "gpt-4", "messages": [{"role": "user", "content": "x"}], "future_param": 1.50}'
    await provider.handle(RequestContext(request_data={"model": "gpt-4"}, body=body), None)
    assert upstream.received[-1][1] == body
    assert upstream.received[-1][0]["Authorization"] == "Bearer sk-test-not-a-real-key"
    await provider.close()


async def test_upstream_failures_become_gateway_errors(upstream, settings):
    provider = OpenAIProvider()
    await provider.initialize()
    garbage = RequestContext(request_data={"model": "gpt-fault-garbage", "messages": []})
    with pytest.raises(UpstreamError):
        await provider.handle(garbage, None)
    settings.OPENAI_BASE_URL = "http://127.0.0.1:9/v1"  # nothing listens on the discard port
    await provider.initialize()
    with pytest.raises(ServiceUnavailable):
        await provider.handle(RequestContext(request_data={"model": "gpt-4", "messages": []}), None)
    settings.OPENAI_API_KEY = ""
    await provider.initialize()
    with pytest.raises(ServiceUnavailable, match="OPENAI_API_KEY"):
        await provider.handle(RequestContext(request_data={"model": "gpt-4", "messages": []}), None)
    await provider.close()
