"""Rate limits through Redis under bursts and outages: a burst shares one connection, an outage is a 503."""

import asyncio
import socket
import threading
import uuid
from decimal import Decimal

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


def test_a_burst_of_requests_shares_one_connection(redis_url, upstream, api_key, settings,  # noqa: F811
                                                  transactional_db):
    ApiKey.objects.update(rpm_limit=100_000, tpm_limit=100_000_000)
    prism = PrismProcess(upstream.url, server="uvicorn", REDIS_URL=redis_url,
                         PRISM_COUNTER_PREFIX=settings.PRISM_COUNTER_PREFIX)
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

    async def add():
        return await counters.add([Counter(f"k-{uuid.uuid4().hex}", 1, 10, 60)])

    with pytest.raises(CountersUnavailable):
        async_to_sync(add)()
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


class Cuttable:
    """A TCP forwarder to a loopback port that the test can cut (every connection closed, new ones dropped)."""

    def __init__(self, target_port: int):
        self.target_port, self.up, self.pairs = target_port, True, []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client = self.listener.accept()[0]
            except OSError:
                return
            if not self.up:
                client.close()
                continue
            server = socket.create_connection(("127.0.0.1", self.target_port))
            self.pairs.append((client, server))
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pipe(source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        for end in (source, sink):
            try:
                end.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self):
        self.up = False
        for pair in self.pairs:
            for end in pair:
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        self.pairs.clear()

    def close(self):
        self.cut()
        self.listener.close()


def test_a_redis_cut_under_load_answers_503_then_recovers(redis_url, upstream, api_key, settings,  # noqa: F811
                                                          transactional_db):
    ApiKey.objects.update(rpm_limit=100_000)
    proxy = Cuttable(int(redis_url.rsplit(":", 1)[1].split("/")[0]))
    prism = PrismProcess(upstream.url, server="uvicorn", REDIS_URL=f"redis://127.0.0.1:{proxy.port}/0",
                         PRISM_COUNTER_PREFIX=settings.PRISM_COUNTER_PREFIX)
    try:
        before = async_to_sync(burst)(prism.url, api_key, 50)
        proxy.cut()
        during = async_to_sync(burst)(prism.url, api_key, 50)
        proxy.up = True
        after = async_to_sync(burst)(prism.url, api_key, 50)
    finally:
        prism.stop()
        proxy.close()
    assert before == [200] * 50
    assert set(during) == {503}, {status: during.count(status) for status in set(during)}
    assert after == [200] * 50, {status: after.count(status) for status in set(after)}


def test_a_redis_outage_answers_503_for_a_dollar_budget_too(upstream, api_key, transactional_db, closed_port):
    ApiKey.objects.update(budget_usd=Decimal("5"), budget_period="monthly")
    prism = PrismProcess(upstream.url, server="uvicorn", REDIS_URL=f"redis://127.0.0.1:{closed_port}/0")
    try:
        response = httpx.post(f"{prism.url}/v1/chat/completions", json={"model": "gpt-4", "messages": MESSAGES},
                              headers={"Authorization": f"Bearer {api_key}"})
    finally:
        prism.stop()
    assert response.status_code == 503 and response.json()["error"]["message"] == "The budget counter is unavailable."
