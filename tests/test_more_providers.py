"""OpenAI-compatible servers declared in config.yml, and Azure OpenAI, behind the same endpoint."""

import openai
import orjson
import pytest

from tenants.models import RoutingRule
from tests.conftest import usage_records
from tests.openapi import assert_valid

MESSAGES = [{"role": "user", "content": "hi"}]


@pytest.fixture
def compatible_config(tmp_path, settings, upstream, monkeypatch):
    config = tmp_path / "config.yml"
    config.write_text(f"""
prefix_map:
  gpt: openai_provider
  llama: local_llm
providers:
  local_llm:
    base_url: {upstream.url}
    api_key_env: LOCAL_LLM_KEY
    models: [llama-3-8b]
    renames: {{llama-fast: llama-3-8b-instruct}}
""")
    monkeypatch.setenv("LOCAL_LLM_KEY", "local-secret")
    settings.PRISM_ROUTER_CONFIG = str(config)


def test_an_openai_compatible_server_from_the_config(compatible_config, openai_client, upstream):
    completion = openai_client.chat.completions.create(model="llama-3-8b", messages=MESSAGES)
    assert_valid("CreateChatCompletionResponse", completion.model_dump(exclude_unset=True))
    headers, body = upstream.received[-1]
    assert headers["Authorization"] == "Bearer local-secret"
    assert orjson.loads(body) == {"model": "llama-3-8b", "messages": MESSAGES}
    streamed = openai_client.chat.completions.create(model="llama-fast", messages=MESSAGES, stream=True)
    assert "".join(chunk.choices[0].delta.content or "" for chunk in streamed) == completion.choices[0].message.content
    assert orjson.loads(upstream.received[-1][1])["model"] == "llama-3-8b-instruct"
    assert {"llama-3-8b", "llama-fast"} <= {model.id for model in openai_client.models.list()}
    records = usage_records(2)
    assert [(r.provider, r.served_model, r.total_tokens) for r in records] == [
        ("local_llm", "llama-3-8b", 10), ("local_llm", "llama-3-8b-instruct", 10)]


def test_azure_openai_deployments(openai_client, upstream, tenant, settings):
    settings.AZURE_OPENAI_API_KEY = "azure-secret"  # AZURE_OPENAI_ENDPOINT unset: the rule names the resource
    RoutingRule.objects.create(tenant=tenant, model_prefix="gpt-4o", provider="azure_openai_provider",
                               upstream_model="my-gpt4o-deployment", endpoint=upstream.url.removesuffix("/v1"))
    completion = openai_client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert_valid("CreateChatCompletionResponse", completion.model_dump(exclude_unset=True))
    assert upstream.paths[-1] == "/openai/deployments/my-gpt4o-deployment/chat/completions?api-version=2024-10-21"
    headers = upstream.received[-1][0]
    assert headers["api-key"] == "azure-secret" and "Authorization" not in headers
    stream = openai_client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True)
    assert "".join(chunk.choices[0].delta.content or "" for chunk in stream) == completion.choices[0].message.content
    RoutingRule.objects.create(tenant=tenant, model_prefix="gpt-4o-broken", provider="azure_openai_provider",
                               upstream_model="gpt-fault-429", endpoint=upstream.url.removesuffix("/v1"))
    settings.PRISM_UPSTREAM_RETRIES = 0
    with pytest.raises(openai.RateLimitError):
        openai_client.chat.completions.create(model="gpt-4o-broken", messages=MESSAGES)
    records = usage_records(3)
    assert [(r.provider, r.status_code, r.total_tokens) for r in records] == [
        ("azure_openai_provider", 200, 10), ("azure_openai_provider", 200, 10), ("azure_openai_provider", 429, 0)]
