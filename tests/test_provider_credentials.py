"""A tenant may bring its own provider key: encrypted at rest, write-only in the admin, used upstream."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from tenants.credentials import credential_decrypt
from tenants.models import ProviderCredential
from tests.conftest import usage_records

MESSAGES = [{"role": "user", "content": "hi"}]


@pytest.fixture
def staff(client, transactional_db):
    client.force_login(get_user_model().objects.create_superuser("staff", password="pw-for-tests"))
    return client


def test_a_tenants_own_key_is_stored_encrypted_never_shown_and_used(staff, openai_client, tenant, upstream):
    openai_client.chat.completions.create(model="gpt-4", messages=MESSAGES)
    assert upstream.received[-1][0]["Authorization"] == "Bearer sk-test-not-a-real-key"

    response = staff.post(reverse("admin:tenants_providercredential_add"),
                          {"tenant": tenant.id, "provider": "openai_provider", "api_key": "sk-tenant-own-key"})
    assert response.status_code == 302
    credential = ProviderCredential.objects.get()
    assert "sk-tenant-own-key" not in credential.encrypted_key
    assert credential_decrypt(credential.encrypted_key) == "sk-tenant-own-key"
    for url in [reverse("admin:tenants_providercredential_changelist"),
                reverse("admin:tenants_providercredential_change", args=[credential.id])]:
        assert "sk-tenant-own-key" not in staff.get(url).content.decode()

    openai_client.chat.completions.create(model="gpt-4", messages=MESSAGES)
    assert upstream.received[-1][0]["Authorization"] == "Bearer sk-tenant-own-key"
    usage_records(2)
