"""What Prism itself must know of a request body, per operation; everything else goes upstream untouched.

Each check takes the parsed JSON body and returns it (as a dict), or raises InvalidRequest naming the
parameter, in the words OpenAI (or Anthropic) would use.
"""

import json
import re

import orjson

from .errors import InvalidRequest
from .translations.messages_check import messages_request_check

CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def body_parse(body: bytes):
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


def _object_with_model(data, *, default_model: str = "") -> dict:
    if not isinstance(data, dict):
        raise InvalidRequest("The request body must be a JSON object.")
    model = data.get("model", default_model) if default_model else data.get("model")
    if not isinstance(model, str) or not model:
        raise InvalidRequest("You must provide a model parameter (a string).", param="model")
    if CONTROL.search(model) or len(model) > 256:
        raise InvalidRequest("The model name may not contain control characters or exceed 256 characters.",
                             param="model")
    if "stream" in data and not isinstance(data["stream"], bool | None):
        raise InvalidRequest("'stream' must be a boolean.", param="stream")
    n = data.get("n")
    if n is not None and (type(n) is not int or n < 1):
        raise InvalidRequest("'n' must be an integer of at least 1.", param="n")
    return data


def _list_of_objects(data: dict, name: str, *, required: bool = True) -> None:
    items = data.get(name)
    if items is None and not required:
        return
    if not isinstance(items, list) or (required and not items):
        raise InvalidRequest(f"'{name}' must be a non-empty array.", param=name)
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise InvalidRequest(f"{name}[{index}] must be an object.", param=f"{name}[{index}]")


def _present(data: dict, name: str) -> None:
    value = data.get(name)
    if value is None or value == "" or value == []:
        raise InvalidRequest(f"You must provide '{name}'.", param=name)


def chat_check(data) -> dict:
    data = _object_with_model(data)
    _list_of_objects(data, "messages")
    for index, message in enumerate(data["messages"]):
        if not isinstance(message.get("role"), str):
            raise InvalidRequest(f"messages[{index}] must be an object with a 'role'.", param=f"messages[{index}]")
    return data


def completions_check(data) -> dict:
    data = _object_with_model(data)
    if not isinstance(data.get("prompt", ""), str | list):
        raise InvalidRequest("'prompt' must be a string, an array of strings or of tokens.", param="prompt")
    return data


def embeddings_check(data) -> dict:
    data = _object_with_model(data)
    _present(data, "input")
    if data.get("encoding_format", "float") not in ("float", "base64"):
        raise InvalidRequest("'encoding_format' must be 'float' or 'base64'.", param="encoding_format")
    return data


def moderations_check(data) -> dict:
    data = _object_with_model(data, default_model="omni-moderation-latest")
    _present(data, "input")
    return data


def responses_check(data) -> dict:
    data = _object_with_model(data)
    if "input" in data and not isinstance(data["input"], str | list | None):
        raise InvalidRequest("'input' must be a string or an array of input items.", param="input")
    if isinstance(data.get("input"), list):
        _list_of_objects(data, "input", required=False)
    return data


def messages_check(data) -> dict:
    return messages_request_check(_object_with_model(data))


def count_tokens_check(data) -> dict:
    return messages_request_check(_object_with_model(data), counting=True)
