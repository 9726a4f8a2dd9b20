"""The audit trail: every change from the admin, the console and commands, who made it and from where."""

import json
import sys

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse

from audit.models import AppendOnlyError, AuditEvent
from console.models import Membership, Role
from tenants.models import ApiKey, ModelPrice, ProviderCredential, RoutingRule, Tenant


@pytest.fixture
def staff(db, client):
    client.force_login(get_user_model().objects.create_superuser("staff", password="pw-for-tests"))
    return client


def test_admin_changes_are_recorded_with_who_and_from_where(staff, tenant):
    staff.post(reverse("admin:tenants_tenant_change", args=[tenant.id]), {"name": "acme", "is_active": "on",
                                                                          "rpm_limit": "60"},
               HTTP_USER_AGENT="Firefox/130", REMOTE_ADDR="10.1.2.3")
    event = AuditEvent.objects.get(object_type="tenants.tenant", action="update")
    assert (event.actor_name, event.source, event.ip, event.user_agent) == ("staff", "admin", "10.1.2.3", "Firefox/130")
    assert event.changes == {"rpm_limit": [None, 60]} and event.tenant_id == tenant.id


def test_secrets_are_never_written(staff, tenant):
    staff.post(reverse("admin:tenants_apikey_add"), {"tenant": tenant.id, "label": "web", "allowed_models": ""})
    staff.post(reverse("admin:tenants_providercredential_add"),
               {"tenant": tenant.id, "provider": "openai_provider", "api_key": "sk-very-secret"})
    api_key, credential = ApiKey.objects.get(), ProviderCredential.objects.get()
    trail = json.dumps(list(AuditEvent.objects.values("changes", "object_repr")))
    assert api_key.key_hash not in trail and credential.encrypted_key not in trail and "sk-very-secret" not in trail
    assert AuditEvent.objects.get(object_type="tenants.apikey").changes["key_hash"] == [None, "(secret)"]


def test_routing_prices_and_members_are_recorded(staff, tenant):
    rule = RoutingRule.objects.create(tenant=tenant, model_prefix="gpt", provider="mock_provider")
    rule.delete()
    price = ModelPrice.objects.create(model_prefix="x-", input_per_million=1, output_per_million=2)
    price.output_per_million = 3
    price.save()
    user = get_user_model().objects.create_user("ann")
    tenant.members.add(user)
    actions = list(AuditEvent.objects.order_by("id").values_list("object_type", "action"))
    assert ("tenants.routingrule", "create") in actions and ("tenants.routingrule", "delete") in actions
    assert AuditEvent.objects.filter(object_type="tenants.modelprice", action="update").get().changes == {
        "output_per_million": ["2.0000", "3.0000"]}
    assert AuditEvent.objects.get(action="add member").changes == {"members": [None, ["ann"]]}


def test_management_commands_name_themselves(db, tenant, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["manage.py", "issuekey", "acme"])
    call_command("issuekey", "acme", "--name", "cli", stdout=open("/dev/null", "w"), stderr=open("/dev/null", "w"))
    event = AuditEvent.objects.get(object_type="tenants.apikey")
    assert (event.actor_name, event.source, event.action) == ("manage.py issuekey", "command", "create")


def test_console_actions_are_named(db, client, tenant):
    admin = get_user_model().objects.create_user("alice", password="pw-for-tests")
    Membership.objects.create(tenant=tenant, user=admin, role=Role.ADMIN)
    client.force_login(admin)
    client.post(reverse("console:key-new"), {"tenant": tenant.id, "label": "k"}, REMOTE_ADDR="10.9.9.9")
    api_key = ApiKey.objects.get()
    client.post(reverse("console:key-rotate", args=[api_key.id]), {"grace_minutes": "5"})
    client.post(reverse("console:key-revoke", args=[api_key.id]))
    events = AuditEvent.objects.filter(object_type="tenants.apikey").order_by("id")
    assert [event.action for event in events] == ["issue", "rotate", "rotate", "revoke"]
    assert {(event.actor_name, event.source) for event in events} == {("alice", "console")}
    assert events[0].ip == "10.9.9.9"


def test_the_trail_is_append_only(db, tenant):
    event = AuditEvent.objects.first()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.update(action="x")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()


def test_staff_read_it_in_the_admin_and_cannot_change_it(staff, tenant):
    event = AuditEvent.objects.get()
    assert "acme" in staff.get(reverse("admin:audit_auditevent_changelist"), {"action": "create"}).content.decode()
    assert staff.get(reverse("admin:audit_auditevent_add")).status_code == 403
    assert staff.post(reverse("admin:audit_auditevent_delete", args=[event.id]), {"post": "yes"}).status_code == 403
    assert AuditEvent.objects.count() == 1


def test_tenant_admins_see_and_export_their_tenants_trail_only(db, client):
    acme, beta = Tenant.objects.create(name="acme"), Tenant.objects.create(name="beta")
    admin = get_user_model().objects.create_user("alice")
    Membership.objects.create(tenant=acme, user=admin, role=Role.ADMIN)
    viewer = get_user_model().objects.create_user("victor")
    Membership.objects.create(tenant=beta, user=viewer, role=Role.VIEWER)
    client.force_login(admin)
    page = client.get(reverse("console:audit")).content.decode()
    assert "acme" in page and "beta" not in page
    lines = b"".join(client.get(reverse("console:audit"), {"format": "jsonl"}).streaming_content).decode().splitlines()
    assert lines and all(json.loads(line)["tenant_id"] == acme.id for line in lines)
    csv = b"".join(client.get(reverse("console:audit"), {"format": "csv"}).streaming_content).decode()
    assert csv.startswith("created_at,actor_name") and "beta" not in csv
    client.force_login(viewer)
    assert "Nothing recorded yet" in client.get(reverse("console:audit")).content.decode()
