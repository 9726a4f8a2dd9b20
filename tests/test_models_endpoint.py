"""GET /v1/models and /v1/models/{id}: every model the key may use and Prism can serve, and no other."""

import openai
import pytest

from tenants.credentials import credential_encrypt
from tenants.models import ApiKey, ProviderCredential, RoutingRule
from tests.openapi import assert_valid

MOCKS = {"mock-1", "mock-2", "mock-embedding", "mock-moderation"}


def listed(client) -> set[str]:
    return {model.id for model in client.models.list()}


def test_the_model_list_is_what_the_key_may_use(openai_client):
    models = openai_client.models.list()
    ids = [model.id for model in models]
    assert {"gpt-4o", "gpt-4o-mini", "gpt-4.1", "o3", "o4-mini", "gpt-4", "mock-1", "claude-sonnet-4-5"} <= set(ids)
    assert_valid("ListModelsResponse", models.model_dump(exclude_unset=True))
    api_key = ApiKey.objects.get()
    api_key.allowed_models = "mock-*, gpt-4"
    api_key.save()
    assert sorted(model.id for model in openai_client.models.list()) == ["gpt-4", *sorted(MOCKS)]


def test_one_model_or_a_404(openai_client):
    model = openai_client.models.retrieve("gpt-4")
    assert (model.id, model.object, model.owned_by) == ("gpt-4", "model", "openai_provider")
    assert_valid("Model", model.model_dump(exclude_unset=True))
    with pytest.raises(openai.NotFoundError) as raised:
        openai_client.models.retrieve("llama-3")
    assert raised.value.code == "model_not_found"


def test_every_model_that_answers_chat_can_be_retrieved(openai_client):
    for model in ["gpt-4o", "gpt-4o-2024-08-06", "o3-mini", "mock-7"]:
        assert openai_client.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}])
        assert openai_client.models.retrieve(model).id == model


def test_models_of_a_provider_without_its_key_are_not_listed_nor_retrieved(openai_client, settings):
    settings.OPENAI_API_KEY = settings.ANTHROPIC_API_KEY = ""
    assert listed(openai_client) == MOCKS
    with pytest.raises(openai.NotFoundError):
        openai_client.models.retrieve("gpt-4")


def test_a_tenants_own_provider_key_makes_its_models_servable(openai_client, settings, tenant):
    settings.OPENAI_API_KEY = ""
    ProviderCredential.objects.create(tenant=tenant, provider="openai_provider",
                                      encrypted_key=credential_encrypt("sk-tenant-own"))
    assert {"gpt-4o", "gpt-4"} <= listed(openai_client)
    assert openai_client.models.retrieve("gpt-4o").owned_by == "openai_provider"


def test_a_renaming_rule_is_listed_and_follows_its_provider(openai_client, settings, tenant):
    RoutingRule.objects.create(tenant=tenant, model_prefix="team-default", provider="openai_provider",
                               upstream_model="gpt-4o-mini")
    RoutingRule.objects.create(tenant=tenant, model_prefix="gpt-4.1", provider="azure_openai_provider")
    settings.AZURE_OPENAI_API_KEY = ""
    models = listed(openai_client)
    assert "team-default" in models and "gpt-4.1" not in models and "gpt-4.1-mini" not in models
    assert openai_client.models.retrieve("team-default").owned_by == "openai_provider"


def test_a_compatible_server_is_listed_once_its_key_variable_is_set(openai_client, settings, tmp_path, monkeypatch):
    config = tmp_path / "config.yml"
    config.write_text("prefix_map: {llama: groq, mock: mock_provider}\n"
                      "providers: {groq: {base_url: 'http://127.0.0.1:9/v1', api_key_env: GROQ_TEST_KEY,"
                      " models: [llama-3.1-8b-instant], renames: {llama-fast: llama-3.1-8b-instant}}}\n")
    settings.PRISM_ROUTER_CONFIG = str(config)
    monkeypatch.delenv("GROQ_TEST_KEY", raising=False)
    assert listed(openai_client) == MOCKS
    monkeypatch.setenv("GROQ_TEST_KEY", "gsk-test")
    assert listed(openai_client) == MOCKS | {"llama-3.1-8b-instant", "llama-fast"}


def test_the_model_list_needs_a_valid_key(prism_url, transactional_db):
    with pytest.raises(openai.AuthenticationError) as raised:
        openai.OpenAI(base_url=f"{prism_url}/v1", api_key="prism-000000000000-nope", max_retries=0).models.list()
    assert raised.value.code == "invalid_api_key"
