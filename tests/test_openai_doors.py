"""The OpenAI doors beyond chat, bytes through to an OpenAI-format upstream, driven by the openai SDK."""

import base64
import struct

import httpx2 as httpx
import openai
import orjson
import pytest

from tenants.models import Tenant
from tenants.services import key_issue
from tests.conftest import usage_records
from tests.openapi import assert_valid

CODEX_TURN = {  # what Codex CLI sends: more than the basic fields, all of which must arrive untouched
    "model": "gpt-4o", "instructions": "You are a coding agent.", "store": False, "stream": False,
    "include": ["reasoning.encrypted_content"], "prompt_cache_key": "session-1", "parallel_tool_calls": False,
    "reasoning": {"effort": "medium", "summary": "auto"},
    "tools": [{"type": "function", "name": "shell", "parameters": {"type": "object", "properties": {}}},
              {"type": "custom", "name": "apply_patch", "description": "Apply a patch"}],
    "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "List the files"}]},
              {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "shell", "arguments": "{}"},
              {"type": "function_call_output", "call_id": "call_1", "output": "README.md"}],
}


def test_a_response_goes_upstream_byte_for_byte_and_is_counted(prism_url, api_key, upstream, transactional_db):
    body = orjson.dumps(CODEX_TURN)
    response = httpx.post(f"{prism_url}/v1/responses", content=body,
                          headers={"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    assert upstream.received[-1][1] == body and upstream.paths[-1] == "/v1/responses"
    answer = response.json()
    assert_valid("Response", answer)
    [record] = usage_records(1)
    assert record.operation == "responses" and record.provider == "openai_provider"
    usage = answer["usage"]
    assert (record.prompt_tokens, record.completion_tokens, record.total_tokens) == (
        usage["input_tokens"], usage["output_tokens"], usage["total_tokens"])
    assert record.cached_tokens == usage["input_tokens_details"]["cached_tokens"]
    assert record.reasoning_tokens == usage["output_tokens_details"]["reasoning_tokens"]


def test_a_streamed_response_is_relayed_as_typed_events(openai_client):
    with openai_client.responses.stream(model="o3-cached-2", input="Hello there") as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_response()
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
    [record] = usage_records(1)
    assert record.is_stream and record.total_tokens == final.usage.total_tokens
    assert record.reasoning_tokens == final.usage.output_tokens_details.reasoning_tokens > 0
    assert record.cached_tokens == final.usage.input_tokens_details.cached_tokens == 2


def test_a_stored_response_is_reachable_only_by_its_tenant(openai_client, prism_url, upstream):
    created = openai_client.responses.create(model="gpt-4o", input="Remember me")
    assert openai_client.responses.retrieve(created.id).id == created.id
    items = openai_client.responses.input_items.list(created.id)
    assert items.data
    follow_up = openai_client.responses.create(model="gpt-4o", input="And then?", previous_response_id=created.id)
    assert follow_up.id != created.id
    other_key = key_issue(tenant=Tenant.objects.create(name="globex"), label="other")[1]
    with openai.OpenAI(base_url=f"{prism_url}/v1", api_key=other_key, max_retries=0) as other:
        with pytest.raises(openai.NotFoundError):
            other.responses.retrieve(created.id)
        with pytest.raises(openai.NotFoundError):
            other.responses.delete(created.id)
        with pytest.raises(openai.BadRequestError) as raised:
            other.responses.create(model="gpt-4o", input="Hi", previous_response_id=created.id)
        assert raised.value.body["param"] == "previous_response_id"
    openai_client.responses.delete(created.id)
    with pytest.raises(openai.NotFoundError):
        openai_client.responses.retrieve(created.id)
    records = usage_records(9)
    assert {record.operation for record in records} == {"responses"}


@pytest.mark.parametrize("model", ["text-embedding-3-small", "mock-embedding"])
def test_embeddings_float_and_base64(model, openai_client):
    floats = openai_client.embeddings.create(model=model, input=["one two", "three"], dimensions=8)
    assert_valid("CreateEmbeddingResponse", floats.model_dump(exclude_unset=True))
    assert [len(item.embedding) for item in floats.data] == [8, 8]
    raw = openai_client.embeddings.with_raw_response.create(model=model, input="one two", encoding_format="base64")
    packed = base64.b64decode(raw.http_response.json()["data"][0]["embedding"])
    assert len(struct.unpack(f"<{len(packed) // 4}f", packed)) > 0
    records = usage_records(2)
    assert [record.operation for record in records] == ["embeddings", "embeddings"]
    assert records[0].prompt_tokens == floats.usage.prompt_tokens > 0 and records[0].completion_tokens == 0


def test_legacy_completions_bytes_through(openai_client, upstream):
    completion = openai_client.completions.create(model="gpt-3.5-turbo-instruct", prompt="Say this is a test")
    assert_valid("CreateCompletionResponse", completion.model_dump(exclude_unset=True))
    assert upstream.paths[-1] == "/v1/completions"
    chunks = list(openai_client.completions.create(model="gpt-3.5-turbo-instruct", prompt="Say", stream=True))
    assert all(chunk.usage is None for chunk in chunks)  # Prism asked for usage; the client did not
    records = usage_records(2)
    assert records[0].total_tokens == completion.usage.total_tokens and records[1].total_tokens > 0
    assert records[1].usage_source == "upstream"


@pytest.mark.parametrize("model", ["omni-moderation-latest", "mock-moderation"])
def test_moderations(model, openai_client):
    result = openai_client.moderations.create(model=model, input=["a kind word", "I will kill the process"])
    assert_valid("CreateModerationResponse", result.model_dump(exclude_unset=True))
    [record] = usage_records(1)
    assert record.operation == "moderations" and record.status_code == 200


def test_a_moderation_without_a_model_takes_openais_default(prism_url, api_key, upstream, transactional_db):
    response = httpx.post(f"{prism_url}/v1/moderations", json={"input": "hello"},
                          headers={"Authorization": f"Bearer {api_key}"})
    assert response.status_code == 200, response.text
    [record] = usage_records(1)
    assert record.requested_model == "omni-moderation-latest"
