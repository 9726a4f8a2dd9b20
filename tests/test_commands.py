import io
import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.utils import timezone

from tenants.keys import key_generate, key_matches
from tenants.models import ApiKey, ModelPrice, Tenant
from tenants.services import key_issue, key_revoke, usage_records_create
from tests.conftest import record


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


def test_limits_and_dollar_budgets_from_the_command_line(db):
    run("createtenant", "acme", "--rpm", "60", "--budget-usd", "250.50", "--budget-period", "weekly")
    run("issuekey", "acme", "--tpm", "1000", "--budget-usd", "5")
    tenant, api_key = Tenant.objects.get(), ApiKey.objects.get()
    assert (tenant.rpm_limit, tenant.budget_usd, tenant.budget_period) == (60, Decimal("250.50"), "weekly")
    assert (api_key.tpm_limit, api_key.budget_usd, api_key.budget_period) == (1000, Decimal("5"), "monthly")


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


def test_rotatekey_prints_the_new_key_last_and_the_old_one_expires_after_the_grace(db):
    run("createtenant", "acme")
    old = run("issuekey", "acme", "--name", "ci", "--models", "mock-*", "--rpm", "5").splitlines()[-1]
    new = run("rotatekey", old.split("-")[1], "--grace-hours", "2").splitlines()[-1]
    old_key, new_key = ApiKey.objects.get(prefix=old.split("-")[1]), ApiKey.objects.get(prefix=new.split("-")[1])
    assert key_matches(new, new_key.key_hash)
    assert (new_key.label, new_key.allowed_models, new_key.rpm_limit) == ("ci", "mock-*", 5)
    assert timedelta(hours=1, minutes=59) < old_key.expires_at - timezone.now() <= timedelta(hours=2)
    with pytest.raises(CommandError, match="No key"):
        run("rotatekey", "000000000000")
    run("revokekey", new)
    with pytest.raises(CommandError, match="revoked"):
        run("rotatekey", new)


def test_listkeys_shows_each_keys_state_use_and_expiry(db, tenant):
    active, _ = key_issue(tenant=tenant, label="web app", expires_at=timezone.now() + timedelta(days=1))
    revoked, _ = key_issue(tenant=tenant, label="old")
    key_revoke(prefix=revoked.prefix)
    other, _ = key_issue(tenant=Tenant.objects.create(name="globex"))
    table = run("listkeys").splitlines()
    assert table[0].split() == ["prefix", "label", "tenant", "state", "last", "used", "expires"]
    assert len(table) == 4 and any(active.prefix in line and "web app" in line and "active" in line for line in table)
    assert any(revoked.prefix in line and "revoked" in line for line in table)
    rows = json.loads(run("listkeys", "acme", "--json"))
    assert {row["prefix"] for row in rows} == {active.prefix, revoked.prefix}
    assert set(rows[0]) == {"prefix", "label", "tenant", "state", "last_used", "expires"}
    with pytest.raises(CommandError, match="No tenant"):
        run("listkeys", "nobody")


def test_usage_adds_up_requests_tokens_and_cost_per_tenant_and_model(db, tenant):
    api_key, _ = key_issue(tenant=tenant)
    ModelPrice.objects.update_or_create(model_prefix="gpt-4", defaults={"input_per_million": 30, "output_per_million": 60})
    usage_records_create(records=[
        record(api_key, "r1"), record(api_key, "r2", status=500, prompt=0, completion=0),
        record(api_key, "r3", model="mock-1", prompt=10, completion=5),
        record(api_key, "r4", ago=timedelta(days=10)),
    ])
    rows = json.loads(run("usage", "--json"))
    assert [(row["tenant"], row["model"], row["requests"], row["errors"], row["total_tokens"]) for row in rows] == [
        ("acme", "gpt-4", 2, 1, 1500), ("acme", "mock-1", 1, 0, 15)]
    assert Decimal(rows[0]["cost"]) == Decimal("0.06")  # 1000 in at $30, 500 out at $60 per million
    assert json.loads(run("usage", "--since", "30d", "--json"))[0]["requests"] == 3
    table = run("usage", "--tenant", "acme").splitlines()
    assert table[0].split()[:3] == ["tenant", "model", "requests"] and "gpt-4" in table[1]
    with pytest.raises(CommandError, match="24h or 7d"):
        run("usage", "--since", "a week")
