"""Validate Prism's answers against OpenAI's own schemas.

They come from tests/schemas/openai-schemas.json, extracted from OpenAI's OpenAPI document (MIT) by
scripts/openapi_extract.py with `nullable` already converted, so that jsonschema accepts the nulls
OpenAI sends (`"logprobs": null`). PRISM_OPENAPI may name a full document instead.
"""

import json
import os
from functools import cache
from pathlib import Path

from jsonschema import Draft202012Validator

from scripts.openapi_extract import nullable_converted

FIXTURE = Path(__file__).resolve().parent / "schemas" / "openai-schemas.json"


@cache
def _document() -> dict:
    full = os.environ.get("PRISM_OPENAPI")
    if full:
        return nullable_converted(json.loads(Path(full).read_text()))
    return json.loads(FIXTURE.read_text())


@cache
def _validator(name: str) -> Draft202012Validator:
    return Draft202012Validator({**_document(), "$ref": f"#/components/schemas/{name}"})


def assert_valid(name: str, instance) -> None:
    """Fail with every schema error of `instance` against the schema called `name`."""
    errors = sorted(_validator(name).iter_errors(instance), key=lambda error: list(error.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:10])
