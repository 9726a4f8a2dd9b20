"""Rate limits through Redis under bursts and outages: a burst waits for a connection, an outage is a 503."""

import asyncio
import socket
import uuid

import httpx2 as httpx
import pytest
from asgiref.sync import async_to_sync

from gateway.counters import Counter, CountersUnavailable, RedisCounters
from tenants.models import ApiKey
from tests.conftest import PrismProcess, usage_records
from tests.openapi import assert_valid
from tests.test_limits import MESSAGES, redis_url  # noqa: F401  (fixture)

BURST = 250


async def burst(url: str, key: str, count: int) -> list[int]:
    limits = httpx.Limits(max_connections=count, max_keepalive_connections=count)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        responses = await asyncio.gather(*[
            client.post(f"{url}/v1/chat/completions", json={"model": "gpt-4", "messages": MESSAGES},
                        headers={"Authorization": f"Bearer {key}"})
            for _ in range(count)
        ])
    return [response.status_code for response in responses]


@pytest.mark.parametrize("connections", [None, 4])
def test_a_burst_above_the_pool_size_waits_for_a_connection(redis_url, upstream, api_key, settings,  # noqa: F811
                                                            transactional_db, connections):
    ApiKey.objects.update(rpm_limit=100_000, tpm_limit=100_000_000)
    env = {"REDIS_URL": redis_url, "PRISM_COUNTER_PREFIX": settings.PRISM_COUNTER_PREFIX}
    if connections:
        env["PRISM_REDIS_MAX_CONNECTIONS"] = str(connections)
    prism = PrismProcess(upstream.url, server="uvicorn", **env)
    try:
        statuses = async_to_sync(burst)(prism.url, api_key, BURST)
    finally:
        prism.stop()
    assert statuses == [200] * BURST, {status: statuses.count(status) for status in set(statuses)}
    assert len(usage_records(BURST, timeout=30)) == BURST


@pytest.fixture
def closed_port():
    """A loopback port nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_unreachable_redis_is_one_kind_of_failure(closed_port):
    counters = RedisCounters(f"redis://127.0.0.1:{closed_port}/0")
    with pytest.raises(CountersUnavailable):
        async_to_sync(counters.add)([Counter(f"k-{uuid.uuid4().hex}", 1, 10, 60)])
    with pytest.raises(CountersUnavailable):
        async_to_sync(counters.set_default)(f"k-{uuid.uuid4().hex}", 1, 60)


def test_a_redis_outage_answers_503_in_openais_shape(upstream, api_key, transactional_db, closed_port):
    ApiKey.objects.update(rpm_limit=10, monthly_token_budget=10_000)
    prism = PrismProcess(upstream.url, server="uvicorn", REDIS_URL=f"redis://127.0.0.1:{closed_port}/0")
    try:
        statuses = async_to_sync(burst)(prism.url, api_key, 20)
        response = httpx.post(f"{prism.url}/v1/chat/completions", json={"model": "gpt-4", "messages": MESSAGES},
                              headers={"Authorization": f"Bearer {api_key}"})
    finally:
        prism.stop()
    assert statuses == [503] * 20
    assert response.status_code == 503 and response.json()["error"]["message"] == "The rate limiter is unavailable."
    assert_valid("ErrorResponse", response.json())
