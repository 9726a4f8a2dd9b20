"""Rotating a key: a new key like the old one, and the old one working for the grace period, then not."""

from datetime import timedelta

import httpx2 as httpx
import pytest
from django.utils import timezone

from tenants.keys import key_prefix
from tenants.models import ApiKey
from tenants.services import key_issue, key_revoke, key_rotate
from tests.conftest import usage_records

CHAT = {"model": "mock-1", "messages": [{"role": "user", "content": "hi"}]}


def test_the_new_key_has_the_old_ones_tenant_label_models_and_limits(tenant):
    old, _ = key_issue(tenant=tenant, label="ci", allowed_models=["gpt-4", "mock-*"], rpm_limit=10, tpm_limit=1000,
                       monthly_token_budget=10**6, expires_at=timezone.now() + timedelta(days=90))
    new, raw, replaced = key_rotate(prefix=old.prefix, grace=timedelta(hours=2))
    assert key_prefix(raw) == new.prefix != old.prefix and replaced == old
    assert (new.tenant, new.label, new.allowed_models) == (tenant, "ci", "gpt-4,mock-*")
    assert (new.rpm_limit, new.tpm_limit, new.monthly_token_budget) == (10, 1000, 10**6)
    assert timedelta(days=89, hours=23) < new.expires_at - timezone.now() <= timedelta(days=90)  # as long a life
    old.refresh_from_db()
    assert timedelta(hours=1, minutes=59) < old.expires_at - timezone.now() <= timedelta(hours=2)


def test_an_old_key_expiring_sooner_than_the_grace_keeps_its_expiry(tenant):
    soon = timezone.now() + timedelta(minutes=5)
    old, _ = key_issue(tenant=tenant, expires_at=soon)
    key_rotate(prefix=old.prefix, grace=timedelta(hours=24))
    old.refresh_from_db()
    assert old.expires_at == soon


def test_a_revoked_key_cannot_be_rotated(tenant):
    old, _ = key_issue(tenant=tenant)
    key_revoke(prefix=old.prefix)
    with pytest.raises(ValueError, match="revoked"):
        key_rotate(prefix=old.prefix)
    assert ApiKey.objects.count() == 1


def test_both_keys_work_during_the_grace_period_and_the_old_one_stops_after(prism_url, tenant, transactional_db):
    old, old_raw = key_issue(tenant=tenant)
    new, new_raw, _ = key_rotate(prefix=old.prefix, grace=timedelta(hours=1))

    def status(raw):
        return httpx.post(f"{prism_url}/v1/chat/completions", json=CHAT,
                          headers={"Authorization": f"Bearer {raw}"}).status_code

    assert (status(old_raw), status(new_raw)) == (200, 200)
    old.refresh_from_db()
    old.expires_at -= timedelta(hours=1)  # as if the hour had passed
    old.save(update_fields=["expires_at"])
    assert (status(old_raw), status(new_raw)) == (401, 200)
    usage_records(3)
