from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from django.utils import timezone

from tenants.authentication import KeyRejected, authenticate
from tenants.models import ApiKey
from tenants.services import key_issue, key_revoke

authenticate_now = async_to_sync(authenticate)


def test_a_valid_key_authenticates_as_its_tenant(tenant, api_key):
    info = authenticate_now(api_key)
    assert info.tenant_id == tenant.id


@pytest.mark.parametrize("raw", [None, "", "sk-not-prism", "prism-000000000000-unknownsecret"])
def test_missing_or_unknown_keys_are_rejected(transactional_db, raw):
    with pytest.raises(KeyRejected):
        authenticate_now(raw)


def test_a_wrong_secret_with_a_real_prefix_is_rejected(api_key):
    with pytest.raises(KeyRejected, match="Incorrect API key"):
        authenticate_now(api_key[:-2] + "xx")


def test_a_revoked_key_stops_authenticating_at_once(api_key):
    authenticate_now(api_key)  # now cached
    key_revoke(prefix=api_key.split("-")[1])
    with pytest.raises(KeyRejected, match="revoked"):
        authenticate_now(api_key)


def test_an_expired_key_is_rejected(tenant):
    _, raw = key_issue(tenant=tenant, expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(KeyRejected, match="expired"):
        authenticate_now(raw)


def test_deactivating_a_tenant_disables_its_keys(tenant, api_key):
    tenant.is_active = False
    tenant.save()
    with pytest.raises(KeyRejected, match="inactive"):
        authenticate_now(api_key)


def test_a_change_in_another_process_is_seen_within_the_cache_ttl(settings, api_key):
    settings.PRISM_DIRECTORY_TTL = 0.2
    authenticate_now(api_key)
    # A queryset update sends no signal, like a change made by another worker.
    ApiKey.objects.update(revoked_at=timezone.now())
    authenticate_now(api_key)
    import time

    time.sleep(0.25)
    with pytest.raises(KeyRejected, match="revoked"):
        authenticate_now(api_key)
