import openai
import pytest

from tenants.models import ApiKey
from tests.openapi import assert_valid


def test_the_model_list_is_what_the_key_may_use(openai_client):
    models = openai_client.models.list()
    ids = [model.id for model in models]
    assert "gpt-4-turbo-preview" in ids and "gpt-3.5-turbo-16k" in ids and "mock-1" in ids
    assert_valid("ListModelsResponse", models.model_dump(exclude_unset=True))
    api_key = ApiKey.objects.get()
    api_key.allowed_models = "mock-*, gpt-4"
    api_key.save()
    assert sorted(model.id for model in openai_client.models.list()) == ["gpt-4", "mock-1", "mock-2", "mock-embedding", "mock-moderation"]


def test_one_model_or_a_404(openai_client):
    model = openai_client.models.retrieve("gpt-4")
    assert (model.id, model.object) == ("gpt-4", "model")
    assert_valid("Model", model.model_dump(exclude_unset=True))
    with pytest.raises(openai.NotFoundError) as raised:
        openai_client.models.retrieve("llama-3")
    assert raised.value.code == "model_not_found"


def test_the_model_list_needs_a_valid_key(prism_url, transactional_db):
    with pytest.raises(openai.AuthenticationError) as raised:
        openai.OpenAI(base_url=f"{prism_url}/v1", api_key="prism-000000000000-nope", max_retries=0).models.list()
    assert raised.value.code == "invalid_api_key"
