import re

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from tenants.keys import key_matches
from tenants.models import ApiKey, RoutingRule, UsageRecord
from tenants.services import key_issue


@pytest.fixture
def staff(db, client):
    user = get_user_model().objects.create_superuser("staff", password="pw-for-tests")
    client.force_login(user)
    return client


def test_issuing_a_key_shows_it_once_and_then_only_its_prefix(staff, tenant):
    response = staff.post(reverse("admin:tenants_apikey_add"), {"tenant": tenant.id, "label": "web", "allowed_models": ""})
    assert response.status_code == 200
    raw = re.search(r'value="(prism-[^"]+)"', response.content.decode()).group(1)
    api_key = ApiKey.objects.get()
    assert key_matches(raw, api_key.key_hash)
    for url in [reverse("admin:tenants_apikey_changelist"), reverse("admin:tenants_apikey_change", args=[api_key.id])]:
        page = staff.get(url).content.decode()
        assert api_key.prefix in page and raw not in page and api_key.key_hash not in page


def test_the_revoke_action_revokes(staff, api_key):
    changelist = reverse("admin:tenants_apikey_changelist")
    staff.post(changelist, {"action": "revoke", "_selected_action": [ApiKey.objects.get().id]})
    assert ApiKey.objects.get().revoked_at is not None


def test_routing_rules_are_managed_in_the_admin(staff, tenant):
    staff.post(
        reverse("admin:tenants_routingrule_add"),
        {"tenant": tenant.id, "model_prefix": "gpt-4", "provider": "mock_provider", "upstream_model": "mock-1",
         "priority": 0, "is_active": "on"},
    )
    assert str(RoutingRule.objects.get()) == "gpt-4* → mock_provider:mock-1"


def test_usage_records_are_read_only_and_filterable(staff, tenant, api_key):
    UsageRecord.objects.create(
        tenant=tenant, api_key=ApiKey.objects.get(), request_id="req_1", requested_model="gpt-4",
        status_code=200, latency_ms=5,
    )
    changelist = reverse("admin:tenants_usagerecord_changelist")
    assert "req_1" in staff.get(changelist, {"requested_model": "gpt-4"}).content.decode()
    assert "req_1" not in staff.get(changelist, {"requested_model": "other"}).content.decode()
    assert staff.get(reverse("admin:tenants_usagerecord_add")).status_code == 403


def test_a_key_is_revoked_from_its_own_page(staff, api_key):
    key = ApiKey.objects.get()
    change = reverse("admin:tenants_apikey_change", args=[key.id])
    page = staff.get(change).content.decode()
    assert reverse("admin:tenants_apikey_revoke", args=[key.id]) in page and "Revoke this key" in page
    assert staff.get(reverse("admin:tenants_apikey_revoke", args=[key.id])).status_code == 403  # POST only
    response = staff.post(reverse("admin:tenants_apikey_revoke", args=[key.id]), follow=True)
    key.refresh_from_db()
    assert key.state == "revoked" and f"The key {key.prefix} is revoked" in response.content.decode()
    assert "Revoke this key" not in staff.get(change).content.decode()


def test_rotating_from_the_key_page_shows_the_new_key_once(staff, api_key):
    old = ApiKey.objects.get()
    page = staff.post(reverse("admin:tenants_apikey_rotate", args=[old.id])).content.decode()
    new = ApiKey.objects.exclude(id=old.id).get()
    raw = re.search(r'value="(prism-[^"]+)"', page).group(1)
    assert key_matches(raw, new.key_hash) and f"It replaces <code>{old.prefix}</code>" in page
    old.refresh_from_db()
    assert old.state == "active" and old.expires_at is not None


def test_the_rotate_action_rotates_every_selected_key(staff, tenant):
    keys = [key_issue(tenant=tenant, label=f"k{n}")[0] for n in range(2)]
    page = staff.post(reverse("admin:tenants_apikey_changelist"),
                      {"action": "rotate", "_selected_action": [key.id for key in keys]}).content.decode()
    assert len(re.findall(r'value="(prism-[^"]+)"', page)) == 2
    assert ApiKey.objects.filter(expires_at__isnull=True).count() == 2  # the new ones
