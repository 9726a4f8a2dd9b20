"""The dashboard's numbers against hand-computed ones, and who may see them."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model

from tenants.models import ApiKey, ModelPrice, Tenant, UsageRecord
from tenants.services import key_issue, usage_records_create
from tests.conftest import record
from tenants.usage_reports import (
    _interpolated, period_parse, usage_breakdown, usage_selection, usage_series, usage_summary,
)


@pytest.fixture
def usage(db):
    """acme: four gpt-4 requests (one failed), latencies 10-40 ms; globex: one gpt-3.5 request two days ago."""
    acme, globex = Tenant.objects.create(name="acme"), Tenant.objects.create(name="globex")
    acme_key, _ = key_issue(tenant=acme, label="web")
    globex_key, _ = key_issue(tenant=globex)
    usage_records_create(records=[
        record(acme_key, "a1", latency=10, ttft=5),
        record(acme_key, "a2", latency=20, ttft=15),
        record(acme_key, "a3", latency=30),
        record(acme_key, "a4", latency=40, status=500, prompt=0, completion=0),
        record(globex_key, "g1", model="gpt-3.5-turbo", prompt=2_000_000, completion=1_000_000, ago=timedelta(days=2)),
    ])
    return acme, globex


def test_costs_are_priced_when_written_and_keep_their_price(usage):
    assert UsageRecord.objects.get(request_id="a1").cost == Decimal("0.06")  # 1000 × $30/M + 500 × $60/M
    assert UsageRecord.objects.get(request_id="g1").cost == Decimal("2.5")  # 2M × $0.50/M + 1M × $1.50/M
    ModelPrice.objects.filter(model_prefix="gpt-4").update(input_per_million=1000)
    assert UsageRecord.objects.get(request_id="a1").cost == Decimal("0.06")


def select(**params):
    return usage_selection(params, tenants=Tenant.objects.all())


def test_the_summary_of_a_period(usage):
    summary = usage_summary(select(period="24h"))
    assert (summary["requests"], summary["prompt_tokens"], summary["completion_tokens"]) == (4, 3000, 1500)
    assert summary["cost"] == Decimal("0.18") and summary["errors"] == 1 and summary["error_rate"] == 0.25
    assert (summary["latency_p50_ms"], summary["latency_p95_ms"]) == pytest.approx((25, 38.5))
    assert (summary["ttft_p50_ms"], summary["ttft_p95_ms"]) == pytest.approx((10, 14.5))


def test_percentiles_interpolate_like_percentile_cont():
    assert _interpolated([10, 20, 30, 40], 0.5) == 25
    assert _interpolated([7], 0.95) == 7


def test_breakdowns_and_series(usage):
    selection = select(period="7d")
    by_tenant = {row["name"]: (row["requests"], row["total_tokens"]) for row in usage_breakdown(selection, "tenant")}
    assert by_tenant == {"acme": (4, 4500), "globex": (1, 3_000_000)}
    [web, other] = usage_breakdown(selection, "key")[::-1]
    assert (web["label"], web["tenant_name"], web["requests"]) == ("web", "acme", 4)
    assert [row["requests"] for row in usage_series(selection)] == [1, 4]  # per day
    by_model = {row["name"]: row["cost"] for row in usage_breakdown(select(period="24h"), "model")}
    assert by_model == {"gpt-4": Decimal("0.18")}


def test_a_batch_written_twice_counts_once(usage):
    acme_key = ApiKey.objects.get(tenant__name="acme")
    usage_records_create(records=[record(acme_key, "a1"), record(acme_key, "a5")])
    assert usage_summary(select(period="24h"))["requests"] == 5


def test_a_custom_period_is_whole_days():
    period = period_parse({"since": "2026-01-01", "until": "2026-01-31"})
    assert (period.name, period.until - period.since, period.bucket) == ("custom", timedelta(days=31), "day")


@pytest.fixture
def member(usage, client):
    user = get_user_model().objects.create_user("ann", password="pw-for-tests")
    usage[1].members.add(user)  # ann belongs to globex only
    client.force_login(user)
    return client


def test_a_tenant_member_sees_only_their_tenant(member):
    page = member.get("/dashboard/?period=7d").content.decode()
    assert "globex" in page and "acme" not in page
    csv = member.get("/dashboard/export/by_tenant.csv?period=7d").content.decode()
    assert "globex" in csv and "acme" not in csv
    acme_id = Tenant.objects.get(name="acme").id
    assert "a1" not in member.get(f"/dashboard/export/recent.csv?period=7d&tenant={acme_id}").content.decode()
    assert member.get("/v1/usage?period=7d").json()["summary"][0]["requests"] == 1


def test_staff_see_every_tenant(usage, admin_client):
    page = admin_client.get("/dashboard/?period=7d").content.decode()
    assert "acme" in page and "globex" in page
    assert admin_client.get("/v1/usage?period=7d").json()["summary"][0]["requests"] == 5


def test_a_prism_key_reads_its_own_tenants_usage(usage, client):
    _, raw = key_issue(tenant=usage[0])
    report = client.get("/v1/usage?period=7d", HTTP_AUTHORIZATION=f"Bearer {raw}").json()
    assert report["summary"][0]["requests"] == 4 and [row["name"] for row in report["by_tenant"]] == ["acme"]
    assert client.get("/v1/usage").status_code == 401


def test_the_dashboard_needs_a_login(client):
    assert client.get("/dashboard/").status_code == 302
