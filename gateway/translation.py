"""Doors served through a provider's chat completions, for providers that lack the operation itself.

(And one answered by Prism itself: /v1/messages/count_tokens for a model that is not Claude.)

`/v1/responses` and `/v1/completions` (to Anthropic or the mock) and `/v1/messages` (to OpenAI-format
providers) are translated to chat and back; the functions that do it are in gateway/translations/.
Where formats match, nothing here runs: the bytes go through.
"""

from dataclasses import dataclass
from typing import Callable

import orjson

from .errors import InvalidRequest
from .operations import CHAT, COUNT_TOKENS
from .plugins.interface import ProviderResponse
from .translations import completions, messages, responses

REASONING_MODELS = ("o1", "o3", "o4", "gpt-5")


@dataclass(frozen=True)
class Translation:
    request: Callable[[dict, str], dict]  # (the door's request, the upstream model) -> a chat request
    response: Callable[[dict, dict], dict]  # (chat completion, the door's request) -> the door's answer
    stream: Callable[[dict], object]  # the door's request -> a translator with feed(chunk) and finish()


TRANSLATIONS = {
    "responses": Translation(
        request=lambda data, model: responses.request_to_chat(data),
        response=lambda completion, data: responses.chat_to_response(completion, request=data),
        stream=lambda data: responses.ChatStreamToResponses(data),
    ),
    "completions": Translation(
        request=lambda data, model: completions.request_to_chat(data),
        response=lambda completion, data: completions.chat_to_completion(completion),
        stream=lambda data: completions.ChatStreamToCompletions(
            include_usage=bool((data.get("stream_options") or {}).get("include_usage"))),
    ),
    "messages": Translation(
        request=lambda data, model: messages.request_to_chat(data, reasoning=model.startswith(REASONING_MODELS)),
        response=lambda completion, data: messages.chat_to_message(completion, model=data["model"]),
        stream=lambda data: messages.ChatStreamToMessages(data["model"]),
    ),
}


class Translated:
    """One request's translation: the door's own request is kept to answer in its terms."""

    def __init__(self, translation: Translation, door_request: dict):
        self.translation, self.door_request = translation, door_request

    def response(self, context) -> bytes:
        return orjson.dumps(self.translation.response(context.response_data, self.door_request))

    def stream(self, context):
        return self.translation.stream(self.door_request)


def translate(context, provider) -> None:
    """Serve the context's operation through chat if the provider lacks it; 400 if it cannot be served."""
    operation = context.operation
    if provider.supports(operation):
        return
    if operation is COUNT_TOKENS:  # nothing to ask a model that is not Claude: Prism estimates it
        estimate = {"input_tokens": messages.count_tokens_estimate(context.request_data)}
        context.response = ProviderResponse(200, body=orjson.dumps(estimate))
        return
    translation = TRANSLATIONS.get(operation.name)
    if translation is None or not provider.supports(CHAT):
        raise InvalidRequest(f"The model `{context.requested_model}` does not support {operation.path} "
                             f"(its provider {provider.name} does not).", param="model")
    door_request = context.request_data
    context.translation = Translated(translation, door_request)
    context.request_data, context.body = translation.request(door_request, door_request["model"]), None
