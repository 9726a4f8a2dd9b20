"""Models `mock-*`: deterministic OpenAI-shaped answers made in-process, for the demo and for use without a key.

Chat, embeddings and moderations are answered here; the other OpenAI doors and Anthropic's reach the
mock models translated through chat, as they would reach any chat-only provider.
"""

import time

import orjson

from gateway.errors import InvalidRequest
from gateway.plugins.interface import ProviderResponse

from . import mock_answers, mock_embeddings, mock_moderations
from .base import Provider
from .sse import DONE, sse


class MockProvider(Provider):
    name = "mock_provider"
    models = ("mock-1", "mock-2", "mock-embedding", "mock-moderation")
    operations = frozenset({"chat", "embeddings", "moderations"})

    async def send(self, context):
        request, operation = context.request_data, context.upstream_operation.name
        suffix = context.request_id.removeprefix("req_")
        try:
            if operation == "embeddings":
                return ProviderResponse(200, body=orjson.dumps(mock_embeddings.embeddings(request)))
            if operation == "moderations":
                return ProviderResponse(200, body=orjson.dumps(
                    mock_moderations.moderation(request, moderation_id=f"modr-{suffix}")))
            kwargs = {"completion_id": f"chatcmpl-{suffix}", "created": int(time.time())}
            if context.stream:
                return ProviderResponse(200, stream=_sse(list(mock_answers.chunks(request, **kwargs))))
            return ProviderResponse(200, body=orjson.dumps(mock_answers.completion(request, **kwargs)))
        except mock_embeddings.InvalidInput as invalid:
            raise InvalidRequest(str(invalid), param=invalid.param) from None
        except mock_answers.MALFORMED:
            raise InvalidRequest("The mock model could not read one of this request's parameters.") from None


async def _sse(chunks):
    for chunk in chunks:
        yield sse(chunk)
    yield DONE
