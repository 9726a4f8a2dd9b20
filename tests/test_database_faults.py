"""PostgreSQL going away under a running Prism: ended connections, an outage, a black hole.

Prism runs as a real process whose database is reached through a TCP proxy that the test controls
(tests/tcp_proxy.py). These tests need PostgreSQL (DATABASE_URL=postgres://...); on SQLite they skip.
"""

import time

import httpx2 as httpx
import pytest
from django.db import connection

from tenants.services import key_issue
from tests.conftest import PrismProcess, usage_records
from tests.openapi import assert_valid
from tests.tcp_proxy import TcpProxy

CHAT = {"model": "gpt-4", "messages": [{"role": "user", "content": "hi"}]}
CONNECT_TIMEOUT = 1  # DB_CONNECT_TIMEOUT of the Prism under test, in seconds
PRISM_CONNECTIONS = "prism-under-test"  # their application_name, to end them and only them


@pytest.fixture
def postgresql(transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL=postgres://...)")


@pytest.fixture
def database_proxy(postgresql):
    db = connection.settings_dict
    proxy = TcpProxy(int(db["PORT"] or 5432), db["HOST"] or "127.0.0.1")
    proxy.url = f"postgres://{db['USER']}@127.0.0.1:{proxy.port}/{db['NAME']}?application_name={PRISM_CONNECTIONS}"
    yield proxy
    proxy.close()


@pytest.fixture(params=["daphne", "uvicorn"])
def prism(request, upstream, database_proxy):
    prism = PrismProcess(upstream.url, server=request.param, DATABASE_URL=database_proxy.url,
                         DB_CONNECT_TIMEOUT=str(CONNECT_TIMEOUT))
    yield prism
    prism.stop()


def chat(prism, key, timeout=30):
    return httpx.post(f"{prism.url}/v1/chat/completions", json=CHAT, headers={"Authorization": f"Bearer {key}"},
                      timeout=timeout)


def new_key(tenant) -> str:
    """A key no process has cached, so that its first request must reach the database."""
    return key_issue(tenant=tenant, label="fresh")[1]


def ready(prism) -> int:
    return httpx.get(f"{prism.url}/readyz", timeout=30).status_code


def prism_backends_end() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
                       [PRISM_CONNECTIONS])
        return len(cursor.fetchall())


def test_postgresql_cancels_a_statement_longer_than_the_statement_timeout(postgresql, settings):
    with connection.cursor() as cursor:
        cursor.execute("SELECT setting FROM pg_settings WHERE name = 'statement_timeout'")  # in ms
        assert cursor.fetchone()[0] == str(settings.DB_STATEMENT_TIMEOUT_MS) != "0"


def test_connections_that_postgresql_ends_are_replaced_on_next_use(prism, tenant, api_key):
    assert chat(prism, api_key).status_code == 200
    assert ready(prism) == 200
    usage_records(1)
    assert prism_backends_end() >= 2  # the lookups' and the usage writer's connections, at least

    assert chat(prism, new_key(tenant)).status_code == 200
    assert ready(prism) == 200
    budget_key = key_issue(tenant=tenant, label="budget", monthly_token_budget=10**6)[1]
    assert chat(prism, budget_key).status_code == 200  # its budget starts from the stored usage
    time.sleep(1.1)  # every cached key and route is read again
    assert chat(prism, api_key).status_code == 200
    usage_records(4)


def test_an_outage_answers_503_and_prism_recovers_when_the_database_returns(prism, tenant, api_key, database_proxy):
    assert chat(prism, api_key).status_code == 200
    usage_records(1)

    database_proxy.cut()
    response = chat(prism, new_key(tenant))
    assert response.status_code == 503 and "database" in response.json()["error"]["message"]
    assert_valid("ErrorResponse", response.json())
    assert ready(prism) == 503

    database_proxy.restore()
    key = new_key(tenant)
    deadline = time.monotonic() + 10
    while (status := chat(prism, key).status_code) != 200:
        assert status == 503 and time.monotonic() < deadline, "Prism did not recover"
    assert [chat(prism, key).status_code for _ in range(5)] == [200] * 5
    assert ready(prism) == 200
    usage_records(7)


def test_a_black_holed_database_answers_503_within_the_connect_timeout(prism, tenant, api_key, database_proxy):
    assert chat(prism, api_key).status_code == 200  # connections are open through the proxy
    assert ready(prism) == 200

    database_proxy.black_hole()
    for _ in range(2):
        started = time.monotonic()
        response = chat(prism, new_key(tenant), timeout=20)
        assert response.status_code == 503, response.text
        assert time.monotonic() - started < CONNECT_TIMEOUT + 3  # not the black hole's length
    assert ready(prism) == 503

    database_proxy.restore()
    key = new_key(tenant)
    deadline = time.monotonic() + 15
    while chat(prism, key).status_code != 200:
        assert time.monotonic() < deadline, "Prism did not recover"
    assert ready(prism) == 200
    usage_records(2, timeout=15)


def test_a_connection_that_stops_answering_is_dropped_for_a_new_one(prism, tenant, api_key, database_proxy):
    """As after a failover, or a firewall forgetting the connection: the open one hangs, a new one works."""
    assert chat(prism, api_key).status_code == 200
    usage_records(1)

    database_proxy.black_hole(new_connections=False)
    key = new_key(tenant)
    deadline = time.monotonic() + 15
    while (status := chat(prism, key, timeout=20).status_code) != 200:
        assert status == 503 and time.monotonic() < deadline, "Prism kept waiting on the stalled connection"
    assert ready(prism) == 200
    usage_records(2, timeout=20)  # the usage writer's connection was stalled too
