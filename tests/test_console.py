"""The console: usage charts and filters, requests, keys and members within a role, nothing of another tenant."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from console.models import KeyOwner, Membership, Role
from tenants.keys import key_matches
from tenants.models import ApiKey, Tenant
from tenants.services import key_issue, usage_records_create
from tests.conftest import record


def member_of(tenant, role, name=None):
    name = name or f"{role}-{tenant.name}"
    user = get_user_model().objects.create_user(name, email=f"{name}@example.com", password="pw-for-tests")
    Membership.objects.create(tenant=tenant, user=user, role=role)
    return user


@pytest.fixture
def two_tenants(db):
    """acme and beta, each with a key and a few requests."""
    tenants = {}
    for name in ("acme", "beta"):
        tenant = Tenant.objects.create(name=name, rpm_limit=100)
        api_key, _ = key_issue(tenant=tenant, label=f"{name}-key")
        usage_records_create(records=[
            record(api_key, f"{name}-{index}", model="gpt-4" if index % 2 else "mock-1", ago=timedelta(hours=index * 3),
                   status=500 if index == 2 else 200)
            for index in range(4)
        ])
        tenants[name] = tenant
    return tenants


@pytest.fixture
def signed_in(client):
    def sign_in(user):
        client.force_login(user)
        return client
    return sign_in


def test_the_chart_draws_every_hour_of_the_day_with_empty_ones_at_zero(two_tenants, signed_in):
    client = signed_in(member_of(two_tenants["acme"], Role.VIEWER))
    page = client.get(reverse("console:home"), {"period": "24h"}).content.decode()
    assert page.count('class="column"') in (24, 25)  # the period starts on the hour
    assert page.count('class="zero"') >= 20
    assert "requests per hour" in page.lower() or "Requests per hour" in page
    data = re.search(r'<script id="chart-data" type="application/json">(.*?)</script>', page, re.S).group(1)
    assert '"4"' not in data and "mock-1" in data and "gpt-4" in data


@pytest.mark.parametrize("metric,split", [("requests", "status"), ("tokens", "class"), ("cost", "key"),
                                          ("errors", "model"), ("latency", ""), ("ttft", ""), ("requests", "tenant")])
def test_every_metric_and_split_renders(two_tenants, signed_in, metric, split):
    client = signed_in(get_user_model().objects.create_superuser("staff", password="pw-for-tests"))
    for period in ("24h", "7d"):
        response = client.get(reverse("console:home"), {"metric": metric, "split": split, "period": period,
                                                         "operation": "chat", "stream": "no"})
        assert response.status_code == 200


def test_filters_combine_and_breakdown_rows_link_to_the_filtered_view(two_tenants, signed_in):
    client = signed_in(get_user_model().objects.create_superuser("staff", password="pw-for-tests"))
    page = client.get(reverse("console:home"), {"model": "gpt-4", "status": "ok"}).content.decode()
    assert re.search(r'id="summary".*?<span class="value">4</span>', page, re.S)  # 2 gpt-4 requests per tenant
    assert f"?period=24h&amp;tenant={two_tenants['beta'].id}&amp;model=gpt-4&amp;status=ok" in page


def test_the_requests_list_sorts_and_filters(two_tenants, signed_in):
    client = signed_in(member_of(two_tenants["acme"], Role.VIEWER))
    page = client.get(reverse("console:requests"), {"status": "error"}).content.decode()
    assert "acme-2" in page and "acme-1" not in page and "beta" not in page
    page = client.get(reverse("console:requests"), {"sort": "time"}).content.decode()
    assert page.index("acme-3") < page.index("acme-0")


def test_a_request_page_shows_what_prism_knows_and_no_secret(two_tenants, signed_in):
    client = signed_in(member_of(two_tenants["acme"], Role.VIEWER))
    page = client.get(reverse("console:request", args=["acme-1"])).content.decode()
    api_key = ApiKey.objects.get(tenant__name="acme")
    for fact in ("gpt-4", "openai_provider", "1,500", "latency", api_key.prefix):
        assert fact in page
    assert api_key.key_hash not in page


def test_another_tenants_key_and_request_are_not_found(two_tenants, signed_in):
    client = signed_in(member_of(two_tenants["acme"], Role.ADMIN))
    beta_key = ApiKey.objects.get(tenant__name="beta")
    assert client.get(reverse("console:request", args=["beta-1"])).status_code == 404
    assert client.get(reverse("console:key", args=[beta_key.id])).status_code == 404
    assert client.post(reverse("console:key-revoke", args=[beta_key.id])).status_code == 404
    assert client.post(reverse("console:key-rotate", args=[beta_key.id]), {"grace_minutes": 1}).status_code == 404
    assert client.post(reverse("console:member-remove", args=[two_tenants["beta"].id, 1])).status_code == 404
    assert "beta" not in client.get(reverse("console:requests")).content.decode()
    assert beta_key.prefix not in client.get(reverse("console:keys")).content.decode()


def test_a_viewer_cannot_issue_or_change_keys(two_tenants, signed_in):
    client = signed_in(member_of(two_tenants["acme"], Role.VIEWER))
    acme_key = ApiKey.objects.get(tenant__name="acme")
    assert "Issue a key" not in client.get(reverse("console:keys")).content.decode()
    assert client.post(reverse("console:key-new"), {"tenant": two_tenants["acme"].id, "label": "x"}).status_code == 403
    assert client.post(reverse("console:key-revoke", args=[acme_key.id])).status_code == 403
    assert ApiKey.objects.count() == 2 and not ApiKey.objects.get(id=acme_key.id).is_revoked


def test_a_developer_manages_only_their_own_keys(two_tenants, signed_in):
    developer = member_of(two_tenants["acme"], Role.DEVELOPER)
    client = signed_in(developer)
    response = client.post(reverse("console:key-new"), {"tenant": two_tenants["acme"].id, "label": "mine",
                                                        "allowed_models": "mock-1, gpt-4o*"})
    raw = re.search(r'id="raw-key">([^<]+)<', response.content.decode()).group(1)
    mine = ApiKey.objects.get(label="mine")
    assert key_matches(raw, mine.key_hash) and mine.allowed_models == "mock-1,gpt-4o*"
    assert KeyOwner.objects.get(api_key=mine).user == developer
    staff_key = ApiKey.objects.get(label="acme-key")
    assert client.get(reverse("console:key", args=[staff_key.id])).status_code == 404
    assert client.post(reverse("console:key-revoke", args=[mine.id])).status_code == 302


def test_a_keys_limits_may_not_exceed_the_tenants(two_tenants, signed_in):
    client = signed_in(member_of(two_tenants["acme"], Role.ADMIN))
    response = client.post(reverse("console:key-new"), {"tenant": two_tenants["acme"].id, "label": "big",
                                                        "rpm_limit": 1000})
    assert "At most 100" in response.content.decode()
    assert not ApiKey.objects.filter(label="big").exists()


def test_rotating_keeps_the_old_key_for_the_grace_period(two_tenants, signed_in):
    client = signed_in(member_of(two_tenants["acme"], Role.ADMIN))
    old = ApiKey.objects.get(tenant__name="acme")
    response = client.post(reverse("console:key-rotate", args=[old.id]), {"grace_minutes": "30"})
    assert "keeps working until" in response.content.decode()
    old.refresh_from_db()
    assert timedelta(minutes=29) < old.expires_at - timezone.now() <= timedelta(minutes=30)
    new = ApiKey.objects.filter(tenant__name="acme").exclude(id=old.id).get()
    assert new.label == old.label and new.rpm_limit == old.rpm_limit and new.expires_at is None


def test_admins_invite_and_remove_members(two_tenants, signed_in):
    acme = two_tenants["acme"]
    client = signed_in(member_of(acme, Role.ADMIN))
    client.post(reverse("console:members"), {"tenant": acme.id, "email": "New@Example.com", "role": "developer"})
    invited = get_user_model().objects.get(email="new@example.com")
    assert Membership.objects.get(user=invited).role == "developer" and acme.members.filter(id=invited.id).exists()
    client.post(reverse("console:member-remove", args=[acme.id, invited.id]))
    assert not Membership.objects.filter(user=invited).exists() and not acme.members.filter(id=invited.id).exists()
    viewer = signed_in(member_of(acme, Role.VIEWER))
    viewer.post(reverse("console:members"), {"tenant": acme.id, "email": "x@example.com", "role": "admin"})
    assert not get_user_model().objects.filter(email="x@example.com").exists()


def test_the_routing_page_shows_the_tenants_and_global_rules_only(two_tenants, signed_in):
    from tenants.models import RoutingRule

    RoutingRule.objects.create(tenant=two_tenants["acme"], model_prefix="acme-model", provider="mock_provider")
    RoutingRule.objects.create(tenant=two_tenants["beta"], model_prefix="beta-model", provider="mock_provider")
    RoutingRule.objects.create(model_prefix="everyone", provider="mock_provider")
    page = signed_in(member_of(two_tenants["acme"], Role.VIEWER)).get(reverse("console:routing")).content.decode()
    assert "acme-model" in page and "everyone" in page and "beta-model" not in page


def test_pages_need_a_sign_in(client, db):
    for name in ("console:home", "console:requests", "console:keys", "console:members", "console:audit"):
        assert client.get(reverse(name)).url.startswith(reverse("console:login"))


def test_bad_query_parameters_are_ignored_not_500(two_tenants, signed_in):
    client = signed_in(member_of(two_tenants["acme"], Role.VIEWER))
    for params in ({"tenant": "x"}, {"key": "-1"}, {"status": "drop"}, {"metric": "nope", "split": "class"},
                   {"page": "abc", "sort": "password"}, {"since": "2020-13-01", "until": "x"}):
        assert client.get(reverse("console:home"), params).status_code == 200
        assert client.get(reverse("console:requests"), params).status_code == 200


def test_a_large_selection_is_read_from_a_sample_and_says_so(two_tenants, signed_in, monkeypatch):
    from django.db import connection

    monkeypatch.setattr("console.sampling.SAMPLE_ABOVE", 2)
    client = signed_in(get_user_model().objects.create_superuser("staff", password="pw-for-tests"))
    for params in ({"metric": "latency"}, {"metric": "tokens", "split": "class"}, {"split": "status"},
                   {"stream": "no"}):
        page = client.get(reverse("console:home"), params).content.decode()
        assert ("estimated from a sample" in page) == (connection.vendor == "postgresql")


def test_single_sign_on_without_a_provider_goes_back_to_the_sign_in_page(client, db, settings):
    assert client.get(reverse("console:sso")).url == reverse("console:login")
    assert "single sign-on" not in client.get(reverse("console:login")).content.decode()
    settings.PRISM_OIDC_ISSUER, settings.OIDC_RP_CLIENT_ID = "http://127.0.0.1:9/o", "prism"  # nothing listens
    assert client.get(reverse("console:sso")).url == reverse("console:login") + "?sso=failed"
    assert "did not succeed" in client.get(reverse("console:login"), {"sso": "failed"}).content.decode()


def test_a_period_without_requests_says_so_on_the_chart(db, signed_in):
    client = signed_in(member_of(Tenant.objects.create(name="quiet"), Role.VIEWER))
    for metric in ("requests", "latency"):
        page = client.get(reverse("console:home"), {"metric": metric}).content.decode()
        assert "No requests match these filters in this period" in page


def test_a_large_selection_is_sorted_among_its_newest_requests_and_says_so(two_tenants, signed_in, monkeypatch):
    monkeypatch.setattr("console.views.usage.SORT_WINDOW", 2)
    client = signed_in(member_of(two_tenants["acme"], Role.VIEWER))
    page = client.get(reverse("console:requests"), {"sort": "-latency"}).content.decode()
    assert "Sorted among the newest 2 requests" in page and "acme-0" in page and "acme-1" in page
    assert "acme-3" not in page
    assert "Sorted among" not in client.get(reverse("console:requests")).content.decode()
