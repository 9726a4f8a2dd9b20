"""Budgets in US dollars: reserved before the call, settled to the recorded cost, shared across processes."""

import asyncio
import uuid
from datetime import datetime, timezone
from decimal import Decimal

import httpx2 as httpx
import openai
import pytest

from gateway.plugins.budgets import cost_ceiling
from gateway.plugins.interface import RequestContext
from tenants.models import ApiKey, ModelPrice, Tenant, UsageRecord
from tenants.selectors import Price, budget_period_start
from tenants.services import usage_records_create
from tests.conftest import PrismProcess, record, usage_records
from tests.test_limits import redis_url  # noqa: F401 (a fixture)

MODEL = "gpt-budget-test"
# 300 one-letter words: 301 prompt tokens; the mock echoes them, so the answer fills max_tokens.
REQUEST = {"model": MODEL, "messages": [{"role": "user", "content": " ".join(["a"] * 300)}], "max_tokens": 250}
COST = Decimal("0.025301")  # 301 x $1 + 250 x $100 per million


@pytest.fixture
def priced(transactional_db, settings):
    """$1 per million input tokens and $100 per million output tokens, and counters of this test's own."""
    settings.PRISM_COUNTER_PREFIX = f"test-{uuid.uuid4().hex}"
    ModelPrice.objects.create(model_prefix="gpt-budget", input_per_million=1, output_per_million=100)


def reservation() -> Decimal:
    context = RequestContext(request_data=REQUEST)
    return Decimal(cost_ceiling(context, Price("gpt-budget", Decimal(1), Decimal(100)))) / 1_000_000


def spent() -> Decimal:
    return sum((r.cost or 0 for r in UsageRecord.objects.all()), Decimal(0))


def test_periods_start_at_midnight_utc_on_mondays_and_month_starts():
    now = datetime(2026, 11, 26, 15, 30, tzinfo=timezone.utc)  # a Thursday
    assert budget_period_start("daily", now) == datetime(2026, 11, 26, tzinfo=timezone.utc)
    assert budget_period_start("weekly", now) == datetime(2026, 11, 23, tzinfo=timezone.utc)
    assert budget_period_start("monthly", now) == datetime(2026, 11, 1, tzinfo=timezone.utc)
    assert budget_period_start("none", now) is None


def test_a_request_reserves_its_body_and_its_output_cap_at_the_dearest_prices():
    price = Price("m", Decimal(1), Decimal(10), cache_write_1h_per_million=Decimal(2), reasoning_per_million=Decimal(12),
                  priority_multiplier=Decimal(2), max_output_tokens=1000)
    body = {"model": "m", "messages": []}
    size = len(RequestContext(request_data=body).body_bytes())
    assert cost_ceiling(RequestContext(request_data=body), price) == size * 2 + 1000 * 12
    capped = RequestContext(request_data={**body, "max_tokens": 10, "n": 3})
    assert cost_ceiling(capped, price) == len(capped.body_bytes()) * 2 + 10 * 3 * 12
    priority = RequestContext(request_data={**body, "service_tier": "priority"})
    assert cost_ceiling(priority, price) == (len(priority.body_bytes()) * 2 + 1000 * 12) * 2
    assert cost_ceiling(RequestContext(request_data=body), None) == 0  # unpriced


def test_a_spent_budget_answers_429_insufficient_quota(priced, openai_client):
    Tenant.objects.update(budget_usd=Decimal("0.06"), budget_period="daily")
    for _ in range(2):
        openai_client.chat.completions.create(**REQUEST)
    with pytest.raises(openai.RateLimitError) as refused:
        openai_client.chat.completions.create(**REQUEST)
    assert refused.value.code == "insufficient_quota" and refused.value.body["type"] == "insufficient_quota"
    assert "daily budget of $0.06" in refused.value.message
    records = usage_records(3)
    assert [r.status_code for r in records] == [200, 200, 429] and spent() == 2 * COST


def test_a_budget_starts_from_the_periods_stored_spend(priced, openai_client, api_key):
    key = ApiKey.objects.get()
    usage_records_create(records=[record(key, "earlier", model="gpt-budget", prompt=40_000, completion=0)])
    key.budget_usd, key.budget_period = Decimal("0.06"), "monthly"  # $0.04 of it spent
    key.save()
    with pytest.raises(openai.RateLimitError):
        openai_client.chat.completions.create(**REQUEST)
    key.budget_usd = Decimal("0.07")
    key.save()
    openai_client.chat.completions.create(**REQUEST)


def test_an_unbudgeted_or_unpriced_request_is_never_refused(priced, openai_client):
    tenant = Tenant.objects.get()
    tenant.budget_usd = Decimal("0.00")
    tenant.save()
    with pytest.raises(openai.RateLimitError):
        openai_client.chat.completions.create(**REQUEST)
    openai_client.chat.completions.create(**{**REQUEST, "model": "gpt-unpriced"})
    tenant.budget_usd = None
    tenant.save()
    openai_client.chat.completions.create(**REQUEST)
    assert [r.cost is None for r in usage_records(3)] == [False, True, False]


def test_two_processes_never_overshoot_one_budget_through_redis(redis_url, upstream, api_key, priced, settings):  # noqa: F811
    Tenant.objects.update(budget_usd=Decimal("1.00"), budget_period="monthly")
    assert reservation() <= Decimal("0.03")
    env = {"REDIS_URL": redis_url, "PRISM_COUNTER_PREFIX": settings.PRISM_COUNTER_PREFIX}
    prisms = [PrismProcess(upstream.url, server="uvicorn", **env) for _ in range(2)]
    headers = {"Authorization": f"Bearer {api_key}"}

    async def burst():
        async with httpx.AsyncClient(timeout=60) as client:
            return await asyncio.gather(*(client.post(f"{prisms[i % 2].url}/v1/chat/completions", json=REQUEST,
                                                      headers=headers) for i in range(50)))
    try:
        answers = asyncio.run(burst())
        stored = len(usage_records(50))
        while True:  # one at a time, each settled: refused only once the rest of the budget is too small
            answer = httpx.post(f"{prisms[stored % 2].url}/v1/chat/completions", json=REQUEST, headers=headers)
            stored = len(usage_records(stored + 1))
            if answer.status_code == 429:
                answers.append(answer)
                break
    finally:
        for prism in prisms:
            prism.stop()
    refused = [answer for answer in answers if answer.status_code == 429]
    assert {answer.status_code for answer in answers} == {200, 429}
    assert all(answer.json()["error"]["code"] == "insufficient_quota" for answer in refused)
    assert spent() <= Decimal("1.00") < spent() + reservation()
    assert spent() == COST * UsageRecord.objects.filter(status_code=200).count()


def test_budget_use_shows_in_the_usage_api_and_the_dashboard(priced, admin_client):
    tenant = Tenant.objects.get_or_create(name="acme")[0]
    tenant.budget_usd, tenant.budget_period = Decimal("0.10"), "daily"
    tenant.save()
    from tenants.services import key_issue

    key, raw = key_issue(tenant=tenant, budget_usd=Decimal("1.00"), budget_period="none")
    usage_records_create(records=[record(key, "r1", model="gpt-budget", prompt=50_000, completion=0)])
    budgets = admin_client.get("/v1/usage", HTTP_AUTHORIZATION=f"Bearer {raw}").json()["budgets"]
    assert [(row["scope"], row["period"], Decimal(str(row["spent_usd"])), Decimal(str(row["budget_usd"])), row["used_share"])
            for row in budgets] == [("tenant", "daily", Decimal("0.05"), Decimal("0.10"), 0.5),
                                    ("key", "none", Decimal("0.05"), Decimal("1.00"), 0.05)]
    page = admin_client.get("/dashboard/").content.decode()
    assert "$0.05 / $0.10" in page and "50%" in page


def test_budgets_and_prices_per_class_are_edited_in_the_admin(admin_client, api_key):
    key = ApiKey.objects.get()
    for page in (f"/admin/tenants/apikey/{key.id}/change/", f"/admin/tenants/tenant/{key.tenant_id}/change/"):
        form = admin_client.get(page).content.decode()
        assert all(f'name="{field}"' in form for field in ("budget_usd", "budget_period", "budget_alert_percent"))
    form = admin_client.get("/admin/tenants/modelprice/add/").content.decode()
    assert all(f'name="{field}"' in form for field in ("cached_input_per_million", "cache_write_1h_per_million",
                                                         "reasoning_per_million", "flex_multiplier", "max_output_tokens"))


def test_the_messages_door_refuses_in_anthropics_shape_and_still_counts_tokens(priced, anthropic_upstream, prism_url,
                                                                               api_key):
    import anthropic

    ModelPrice.objects.create(model_prefix="claude-haiku-4-5", input_per_million=1, output_per_million=5)
    Tenant.objects.update(budget_usd=Decimal("0.00"))
    request = {"model": "claude-haiku-4-5", "messages": [{"role": "user", "content": "Hello there"}]}
    with anthropic.Anthropic(base_url=prism_url, api_key=api_key, max_retries=0) as claude:
        with pytest.raises(anthropic.RateLimitError) as refused:
            claude.messages.create(max_tokens=50, **request)
        assert refused.value.body["type"] == "error" and "budget" in refused.value.body["error"]["message"]
        assert claude.messages.count_tokens(**request).input_tokens > 0
    assert [r.status_code for r in usage_records(2)] == [429, 200]
