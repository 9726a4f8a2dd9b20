"""Models `mock-*`: deterministic OpenAI-shaped answers made in-process, for the demo and for use without a key."""

import time

import orjson

from gateway.errors import InvalidRequest
from gateway.plugins.interface import ProviderResponse

from . import mock_answers
from .base import Provider
from .sse import DONE, sse


class MockProvider(Provider):
    name = "mock_provider"
    models = ("mock-1", "mock-2")

    async def send(self, context):
        request = context.request_data
        kwargs = {"completion_id": f"chatcmpl-{context.request_id.removeprefix('req_')}", "created": int(time.time())}
        try:
            if context.stream:
                chunks = list(mock_answers.chunks(request, **kwargs))
                return ProviderResponse(200, stream=_sse(chunks))
            return ProviderResponse(200, body=orjson.dumps(mock_answers.completion(request, **kwargs)))
        except mock_answers.MALFORMED:
            raise InvalidRequest("The mock model could not read one of this request's parameters.") from None


async def _sse(chunks):
    for chunk in chunks:
        yield sse(chunk)
    yield DONE
