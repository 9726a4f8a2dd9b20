"""Rate limits and budgets, with both counter backends (in-process and Redis)."""

import asyncio
import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from itertools import cycle

import httpx2 as httpx
import openai
import pytest
import redis
from asgiref.sync import async_to_sync
from django.conf import settings as django_settings

from gateway.counters import Counter, LocalCounters, RedisCounters
from tenants.models import ApiKey, Tenant, UsageRecord
from tests.conftest import REQUIRE_SERVICES, PrismProcess, usage_records
from tests.openapi import assert_valid

MESSAGES = [{"role": "user", "content": "hi"}]
REDIS_URL = "redis://127.0.0.1:6379/0"


def counters_of_this_test(settings):
    """Counters of this test's own: ids repeat across tests and runs, and Redis keeps a minute's counts."""
    settings.PRISM_COUNTER_PREFIX = f"test-{uuid.uuid4().hex}"


counter_prefix = pytest.fixture(autouse=True)(counters_of_this_test)


@pytest.fixture
def redis_url(settings):
    """The machine's Redis (CI requires it), with counters under a prefix of this test's own."""
    url = settings.REDIS_URL or REDIS_URL
    try:
        redis.Redis.from_url(url).ping()
    except redis.ConnectionError:
        pytest.fail(f"Redis is required at {url}") if REQUIRE_SERVICES else pytest.skip("no Redis")
    counters_of_this_test(settings)
    return url


@pytest.fixture(params=["local", "redis"])
def backend(request):
    if request.param == "local":
        return LocalCounters()
    return RedisCounters(request.getfixturevalue("redis_url"))


def sync_add(backend):
    """`backend.add` called from a test: it returns a future of the running loop, awaited here."""
    async def add(changes):
        return await backend.add(changes)
    return async_to_sync(add)


def test_counters_add_all_or_nothing(backend):
    add = sync_add(backend)
    key = f"k-{uuid.uuid4().hex}"
    assert add([Counter(key + "a", 2, 3, 60), Counter(key + "b", 5, None, 60)]) == (0, [2, 5])
    assert add([Counter(key + "b", 1, None, 60), Counter(key + "a", 2, 3, 60)]) == (2, [5, 2])
    assert add([Counter(key + "a", 1, 3, 60)]) == (0, [3])
    assert add([Counter(key + "a", -3, None, 60)]) == (0, [0])


def test_adds_made_together_stay_all_or_nothing_each(backend):
    """Adds in the same turn of the loop go in one script call: each is still checked on its own."""
    key = f"k-{uuid.uuid4().hex}"

    async def together():
        return await asyncio.gather(
            backend.add([Counter(key + "a", 2, 3, 60), Counter(key + "b", 1, None, 60)]),
            backend.add([Counter(key + "b", 1, None, 60), Counter(key + "a", 2, 3, 60)]),
            backend.add([Counter(key + "a", 1, 3, 60)]),
        )

    assert async_to_sync(together)() == [(0, [2, 1]), (2, [1, 2]), (0, [3])]


def test_a_settlement_rides_with_the_next_add_or_goes_alone(redis_url):
    backend, key = RedisCounters(redis_url), f"k-{uuid.uuid4().hex}"
    stored = redis.Redis.from_url(redis_url)

    async def settle_then_add():
        await backend.add([Counter(key, 10, 100, 60)])
        backend.settle([Counter(key, -4, None, 60)])
        waiting = int(stored.get(key))  # not sent yet: it waits for company
        refused, values = await backend.add([Counter(key, 1, 100, 60)])
        backend.settle([Counter(key, -1, None, 60)])
        for _ in range(100):  # no add follows: it goes on its own, shortly
            await asyncio.sleep(0.02)
            if int(stored.get(key)) == 6:
                break
        return waiting, values, int(stored.get(key))

    assert async_to_sync(settle_then_add)() == (10, [7], 6)


def test_local_counters_forget_a_window_once_it_expires():
    now = [1000.0]
    add = sync_add(LocalCounters(clock=lambda: now[0]))
    assert add([Counter("w", 1, 1, 60)]) == (0, [1])
    assert add([Counter("w", 1, 1, 60)])[0] == 1
    now[0] += 61
    assert add([Counter("w", 1, 1, 60)]) == (0, [1])


def wait_for_a_fresh_minute(margin=8):
    """Limits use fixed minute windows: start a counted burst well inside one."""
    if time.time() % 60 > 60 - margin:
        time.sleep(60 - time.time() % 60 + 0.1)


@pytest.mark.parametrize("cache", ["local", "redis"])
def test_requests_per_minute_answer_429_with_openai_headers(cache, request, openai_client, settings):
    if cache == "redis":
        settings.REDIS_URL = request.getfixturevalue("redis_url")
    ApiKey.objects.update(rpm_limit=2)
    ApiKey.objects.get().save()  # drops the key cache
    wait_for_a_fresh_minute()
    first = openai_client.chat.completions.with_raw_response.create(model="gpt-4", messages=MESSAGES)
    assert first.headers["x-ratelimit-limit-requests"] == "2"
    assert first.headers["x-ratelimit-remaining-requests"] == "1"
    assert first.headers["x-ratelimit-reset-requests"].endswith("s")
    openai_client.chat.completions.create(model="gpt-4", messages=MESSAGES)
    with pytest.raises(openai.RateLimitError) as raised:
        openai_client.chat.completions.create(model="gpt-4", messages=MESSAGES)
    error = raised.value
    assert error.code == "rate_limit_exceeded" and error.type == "requests"
    assert int(error.response.headers["retry-after"]) <= 60
    assert error.response.headers["x-ratelimit-remaining-requests"] == "0"
    assert_valid("ErrorResponse", error.response.json())
    assert [r.status_code for r in usage_records(3)] == [200, 200, 429]


def test_a_tenants_limit_covers_all_its_keys(openai_client, tenant, api_key, prism_url):
    Tenant.objects.filter(id=tenant.id).update(rpm_limit=1)
    tenant.refresh_from_db()
    tenant.save()
    wait_for_a_fresh_minute()
    openai_client.chat.completions.create(model="gpt-4", messages=MESSAGES)
    from tenants.services import key_issue

    other = openai.OpenAI(base_url=f"{prism_url}/v1", api_key=key_issue(tenant=tenant)[1], max_retries=0)
    with pytest.raises(openai.RateLimitError, match="tenant"):
        other.chat.completions.create(model="gpt-4", messages=MESSAGES)
    usage_records(2)


def test_tokens_per_minute_reserve_an_estimate_and_settle_on_the_real_usage(openai_client):
    ApiKey.objects.update(tpm_limit=1000)
    ApiKey.objects.get().save()
    wait_for_a_fresh_minute()
    first = openai_client.chat.completions.with_raw_response.create(model="gpt-4", messages=MESSAGES, max_tokens=100)
    # Remaining after the first request = 1000 - its estimate (body bytes / 4 + max_tokens).
    estimate = 1000 - int(first.headers["x-ratelimit-remaining-tokens"])
    assert 100 < estimate < 150
    second = openai_client.chat.completions.with_raw_response.create(model="gpt-4", messages=MESSAGES, max_tokens=100)
    # The first request's reservation was replaced by its real usage (10 tokens).
    assert int(second.headers["x-ratelimit-remaining-tokens"]) == 1000 - 10 - estimate
    with pytest.raises(openai.RateLimitError) as raised:
        openai_client.chat.completions.create(model="gpt-4", messages=MESSAGES, max_tokens=2000)
    assert raised.value.type == "tokens"
    usage_records(3)


def test_a_monthly_budget_counts_stored_usage_and_answers_insufficient_quota(openai_client, tenant):
    api_key = ApiKey.objects.get()
    UsageRecord.objects.create(tenant=tenant, api_key=api_key, request_id="old", requested_model="gpt-4",
                               total_tokens=700, status_code=200, latency_ms=1)
    api_key.monthly_token_budget = 1000
    api_key.save()
    openai_client.chat.completions.create(model="gpt-4", messages=MESSAGES, max_tokens=10)
    with pytest.raises(openai.RateLimitError) as raised:
        openai_client.chat.completions.create(model="gpt-4", messages=MESSAGES, max_tokens=500)
    assert raised.value.code == "insufficient_quota"
    usage_records(3)


def test_two_processes_share_one_limit_through_redis(redis_url, upstream, api_key, settings, transactional_db):
    limit, sent = 10, 30
    ApiKey.objects.update(rpm_limit=limit)
    env = {"REDIS_URL": redis_url, "PRISM_COUNTER_PREFIX": settings.PRISM_COUNTER_PREFIX}
    prisms = [PrismProcess(upstream.url, server="uvicorn", **env) for _ in range(2)]
    try:
        wait_for_a_fresh_minute()
        statuses = [
            httpx.post(f"{prism.url}/v1/chat/completions", json={"model": "gpt-4", "messages": MESSAGES},
                       headers={"Authorization": f"Bearer {api_key}"}).status_code
            for prism, _ in zip(cycle(prisms), range(sent))
        ]
    finally:
        for prism in prisms:
            prism.stop()
    assert statuses.count(200) == limit and statuses.count(429) == sent - limit
    assert len(usage_records(sent)) == sent


def test_local_counters_sweep_the_windows_of_past_minutes():
    now = [1000.0]
    counters = LocalCounters(clock=lambda: now[0])
    add = sync_add(counters)
    for minute in range(500):
        add([Counter(f"rpm:{minute}", 1, 10, 120)])
    now[0] += 120 + LocalCounters.SWEEP_INTERVAL
    add([Counter("rpm:now", 1, 10, 120)])
    assert len(counters) == 1


def test_a_request_without_max_tokens_reserves_its_models_output_cap(settings):
    from gateway.plugins.limits import output_cap

    settings.PRISM_DEFAULT_MAX_OUTPUT_TOKENS = 4096
    settings.PRISM_OUTPUT_CAPS = {"gpt-4o": 16384, "gpt-4o-mini": 8192}
    assert [output_cap(model) for model in ["gpt-4o-2024-08-06", "gpt-4o-mini", "gpt-4", "mock-1"]] == [
        16384, 8192, 4096, 4096]


@pytest.fixture
def wordy_upstream():
    """An upstream whose every answer is 1,000 tokens long and takes half a second, so requests overlap."""
    from providers.mock_upstream import MockUpstream

    server = MockUpstream(tokens=1000, token_delay=0.0005)
    url = server.start_in_thread()
    yield url
    server.stop()


def test_requests_without_max_tokens_cannot_overshoot_a_token_limit(wordy_upstream, api_key, transactional_db):
    limit = 5000
    ApiKey.objects.update(tpm_limit=limit)
    prism = PrismProcess(wordy_upstream, server="uvicorn")
    try:
        wait_for_a_fresh_minute(margin=20)
        with httpx.Client(timeout=30) as client:
            def send(_):
                return client.post(f"{prism.url}/v1/chat/completions", json={"model": "gpt-4", "messages": MESSAGES},
                                   headers={"Authorization": f"Bearer {api_key}"}).status_code

            with ThreadPoolExecutor(24) as pool:
                statuses = list(pool.map(send, range(24)))
            statuses += [send(None) for _ in range(6)]
    finally:
        prism.stop()
    records = usage_records(len(statuses), timeout=15)
    used = sum(r.total_tokens for r in records if r.status_code == 200)
    reservation = len(json.dumps({"model": "gpt-4", "messages": MESSAGES})) // 4 + (
        django_settings.PRISM_DEFAULT_MAX_OUTPUT_TOKENS)
    assert statuses.count(200) >= 1 and statuses.count(429) >= 1
    assert used <= limit + reservation, (used, statuses)
