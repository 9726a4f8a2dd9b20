import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from tenants.keys import key_generate, key_matches
from tenants.models import ApiKey, Tenant


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_createtenant_is_idempotent(db):
    run("createtenant", "acme")
    run("createtenant", "acme")
    assert Tenant.objects.filter(name="acme").count() == 1


def test_issuekey_prints_the_key_last_and_stores_only_its_hash(db):
    run("createtenant", "acme")
    raw = run("issuekey", "acme", "--name", "ci", "--expires-in", "30", "--models", "gpt-4, gpt-3.5-turbo").splitlines()[-1]
    api_key = ApiKey.objects.get()
    assert raw.startswith(f"prism-{api_key.prefix}-")
    assert raw not in api_key.key_hash and key_matches(raw, api_key.key_hash)
    assert api_key.label == "ci" and api_key.allowed_models == "gpt-4,gpt-3.5-turbo"
    assert 29 <= (api_key.expires_at - api_key.created_at).days <= 30


def test_issuekey_for_an_unknown_tenant_fails(db):
    with pytest.raises(CommandError, match="No tenant"):
        run("issuekey", "nobody")


def test_revokekey_takes_the_prefix_or_the_whole_key(db):
    run("createtenant", "acme")
    first = run("issuekey", "acme").splitlines()[-1]
    second = run("issuekey", "acme").splitlines()[-1]
    run("revokekey", first.split("-")[1])
    run("revokekey", second)
    assert ApiKey.objects.filter(revoked_at__isnull=True).count() == 0
    with pytest.raises(CommandError):
        run("revokekey", "000000000000")


def test_the_demo_setup_can_run_again_without_duplicates(db, settings):
    settings.PRISM_DEMO_KEY = key_generate().raw
    settings.PRISM_DEMO_ADMIN_PASSWORD = "demo-password"
    first = run("demo")
    second = run("demo")
    assert first == second and settings.PRISM_DEMO_KEY in first and "curl" in first and "mock-1" not in first
    assert Tenant.objects.count() == ApiKey.objects.count() == get_user_model().objects.count() == 1


def test_the_demo_curl_uses_the_mock_model_without_an_openai_key(db, settings):
    settings.PRISM_DEMO_KEY = key_generate().raw
    settings.PRISM_DEMO_ADMIN_PASSWORD = "demo-password"
    settings.OPENAI_API_KEY = ""
    assert '"model": "mock-1"' in run("demo")
