"""Regenerate tests/schemas/openai-schemas.json from OpenAI's full OpenAPI document.

    python scripts/openapi_extract.py PATH/TO/openapi.json [VERSION]

The fixture keeps only the schemas the tests validate against and every schema they reference
(their `$ref`s all resolve inside it), with OpenAPI 3.0's `nullable: true` already turned into
JSON Schema's null type, so the test suite needs nothing outside the repository.
"""

import json
import sys
from pathlib import Path

FIXTURE = Path(__file__).resolve().parent.parent / "tests" / "schemas" / "openai-schemas.json"

ROOTS = [
    "CreateChatCompletionResponse", "CreateChatCompletionStreamResponse", "ErrorResponse",
    "ListModelsResponse", "Model", "CreateEmbeddingResponse", "CreateCompletionResponse",
    "Response", "ResponseStreamEvent", "ResponseItemList", "CreateModerationResponse",
    "CreateChatCompletionRequest", "CreateEmbeddingRequest", "CreateCompletionRequest",
    "CreateResponse", "CreateModerationRequest",
]
PREFIX = "#/components/schemas/"


def nullable_converted(node):
    """OpenAPI 3.0's `nullable: true` as JSON Schema's null type (what jsonschema understands)."""
    if isinstance(node, list):
        return [nullable_converted(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: nullable_converted(value) for key, value in node.items()}
    if node.pop("nullable", False):
        if "type" in node:
            node["type"] = [node["type"], "null"] if isinstance(node["type"], str) else [*node["type"], "null"]
            if "enum" in node:
                node["enum"] = [*node["enum"], None]
        else:
            node = {"anyOf": [{"type": "null"}, node]}
    return node


def references(node):
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(PREFIX):
            yield ref[len(PREFIX):]
        for value in node.values():
            yield from references(value)
    elif isinstance(node, list):
        for item in node:
            yield from references(item)


def extract(document: dict, roots=ROOTS) -> dict:
    schemas = document["components"]["schemas"]
    kept, waiting = {}, list(roots)
    while waiting:
        name = waiting.pop()
        if name not in kept:
            kept[name] = nullable_converted(schemas[name])
            waiting.extend(references(kept[name]))
    return {"components": {"schemas": dict(sorted(kept.items()))}}


def main():
    source = Path(sys.argv[1])
    version = sys.argv[2] if len(sys.argv) > 2 else (source.parent / "VERSION").read_text().strip()
    fixture = {"source": f"openai/openai-openapi {version}", "licence": "MIT, see LICENSE beside this file",
               **extract(json.loads(source.read_text()))}
    FIXTURE.write_text(json.dumps(fixture, indent=1, sort_keys=False) + "\n")
    print(f"{FIXTURE}: {len(fixture['components']['schemas'])} schemas")


if __name__ == "__main__":
    main()
