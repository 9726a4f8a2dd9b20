"""Deterministic embeddings (`POST /v1/embeddings`) in OpenAI's wire format.

Each input (a string, a list of strings, a token array or a list of them) gets a unit vector seeded by its text,
so equal inputs embed equally. Sizes as OpenAI's: 3072 for *-large models, else 1536, or `dimensions`.
base64 is the float32 vector's little-endian bytes, exactly what the openai SDK decodes.
"""

import base64
import random
import struct

DEFAULT_DIMENSIONS = 1536
LARGE_DIMENSIONS = 3072


class InvalidInput(ValueError):
    """A request OpenAI answers with 400 naming `param`."""

    def __init__(self, message: str, param: str):
        super().__init__(message)
        self.param = param


def inputs(request: dict) -> list[str]:
    """The inputs as texts: a token array reads as its ids."""
    given = request.get("input")
    if isinstance(given, str) and given:
        return [given]
    if isinstance(given, list) and given and all(type(token) is int for token in given):
        return [" ".join(map(str, given))]
    if isinstance(given, list) and given and all(isinstance(item, (str, list)) and item for item in given):
        return [item if isinstance(item, str) else " ".join(map(str, item)) for item in given]
    raise InvalidInput("'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.", "input")


def dimensions(request: dict) -> int:
    model, asked = request["model"], request.get("dimensions")
    native = LARGE_DIMENSIONS if "large" in model else DEFAULT_DIMENSIONS
    if asked is None:
        return native
    if "ada-002" in model:
        raise InvalidInput("This model does not support specifying dimensions.", "dimensions")
    if type(asked) is not int or not 1 <= asked <= native:
        raise InvalidInput(f"Invalid value for 'dimensions': it must be an integer from 1 to {native}.", "dimensions")
    return asked


def vector(text: str, size: int) -> tuple[float, ...]:
    """A unit vector seeded by `text`, rounded to float32 so that float and base64 answers agree."""
    generator = random.Random(text)
    values = [generator.gauss(0.0, 1.0) for _ in range(size)]
    norm = sum(v * v for v in values) ** 0.5
    return struct.unpack(f"<{size}f", struct.pack(f"<{size}f", *(v / norm for v in values)))


def _encoded(values: tuple[float, ...], encoding_format: str):
    if encoding_format == "base64":
        return base64.b64encode(struct.pack(f"<{len(values)}f", *values)).decode()
    return list(values)


def embeddings(request: dict) -> dict:
    encoding_format = request.get("encoding_format") or "float"
    if encoding_format not in ("float", "base64"):
        raise InvalidInput("Invalid value for 'encoding_format': it must be 'float' or 'base64'.", "encoding_format")
    texts, size = inputs(request), dimensions(request)
    tokens = sum(len(text.split()) for text in texts)
    return {
        "object": "list",
        "data": [{"object": "embedding", "index": index, "embedding": _encoded(vector(text, size), encoding_format)}
                 for index, text in enumerate(texts)],
        "model": request["model"],
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }
