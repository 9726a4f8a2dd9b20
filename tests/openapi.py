"""Validate Prism's answers against OpenAI's own OpenAPI document (../shared/openai-openapi/openapi.json).

The document is OpenAPI 3.0, where `nullable: true` stands for JSON Schema's null type; it is
converted once so that jsonschema accepts the nulls OpenAI sends (`"logprobs": null`).
"""

import json
import os
from functools import cache
from pathlib import Path

from jsonschema import Draft202012Validator

from prism_site.settings import BASE_DIR

SPEC = Path(os.environ.get("PRISM_OPENAPI", BASE_DIR.parent / "shared" / "openai-openapi" / "openapi.json"))


def _nullable(node):
    if isinstance(node, list):
        return [_nullable(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _nullable(value) for key, value in node.items()}
    if node.pop("nullable", False):
        if "type" in node:
            node["type"] = [node["type"], "null"] if isinstance(node["type"], str) else [*node["type"], "null"]
            if "enum" in node:
                node["enum"] = [*node["enum"], None]
        else:
            node = {"anyOf": [{"type": "null"}, node]}
    return node


@cache
def _document() -> dict:
    if not SPEC.exists():
        raise FileNotFoundError(f"OpenAI's OpenAPI document is needed at {SPEC} (or set PRISM_OPENAPI)")
    return _nullable(json.loads(SPEC.read_text()))


@cache
def _validator(name: str) -> Draft202012Validator:
    return Draft202012Validator({**_document(), "$ref": f"#/components/schemas/{name}"})


def assert_valid(name: str, instance) -> None:
    """Fail with every schema error of `instance` against the schema called `name`."""
    errors = sorted(_validator(name).iter_errors(instance), key=lambda error: list(error.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:10])
