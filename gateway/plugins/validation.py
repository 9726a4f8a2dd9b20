"""Check only what Prism itself needs of a chat request; everything else goes upstream untouched."""

import json

import orjson

from gateway.errors import InvalidRequest

from .interface import Plugin


def _loads(body: bytes):
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        pass
    try:  # orjson refuses integers beyond 64 bits, which are valid JSON
        return json.loads(body)
    except (ValueError, RecursionError):
        raise InvalidRequest(
            "We could not parse the JSON body of your request. The body must be JSON "
            "(Content-Type: application/json)."
        ) from None


def chat_request_check(data) -> dict:
    if not isinstance(data, dict):
        raise InvalidRequest("The request body must be a JSON object.")
    model = data.get("model")
    if not isinstance(model, str) or not model:
        raise InvalidRequest("You must provide a model parameter (a string).", param="model")
    messages = data.get("messages")
    if not isinstance(messages, list) or not messages:
        raise InvalidRequest("'messages' must be a non-empty array of message objects.", param="messages")
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            raise InvalidRequest(f"messages[{index}] must be an object with a 'role'.", param=f"messages[{index}]")
    if "stream" in data and not isinstance(data["stream"], bool | None):
        raise InvalidRequest("'stream' must be a boolean.", param="stream")
    n = data.get("n")
    if n is not None and (type(n) is not int or n < 1):
        raise InvalidRequest("'n' must be an integer of at least 1.", param="n")
    return data


class RequestValidation(Plugin):
    async def handle(self, context, next):
        data = _loads(context.body) if context.body is not None else context.request_data
        context.request_data = chat_request_check(data)
        context.requested_model = context.request_data["model"]
        await next(context)
