"""Shared fixtures: the mock upstream and Prism itself, each a real HTTP server on a loopback port."""

import asyncio
import os
import threading
import time

from datetime import timedelta

import openai
import pytest
import uvicorn
from django.conf import settings
from django.utils import timezone

from bench.servers import BIN, Server
from providers.mock_upstream import MockUpstream
from tenants.directory import directory
from tenants.models import TOKEN_CLASSES, Tenant, UsageRecord
from tenants.services import key_issue

REQUIRE_SERVICES = os.environ.get("PRISM_REQUIRE_SERVICES") == "1"


@pytest.fixture(scope="session")
def upstream():
    """The project's OpenAI-compatible mock, which the OpenAI provider is pointed at."""
    server = MockUpstream()
    server.url = server.start_in_thread()
    settings.OPENAI_BASE_URL = server.url
    yield server
    server.stop()


@pytest.fixture
async def anthropic_upstream(upstream, settings):
    """The Anthropic provider pointed at the mock's Anthropic Messages API (providers read settings once)."""
    from providers.registry import providers_reset

    settings.ANTHROPIC_BASE_URL = upstream.url.removesuffix("/v1")
    await providers_reset()
    yield upstream
    await providers_reset()


class ServerThread(threading.Thread):
    """Prism's ASGI application under uvicorn, on a thread of the test process (so it shares the test DB)."""

    def __init__(self):
        super().__init__(daemon=True)
        config = uvicorn.Config("prism_site.asgi:application", host="127.0.0.1", port=0, log_level="warning")
        self.server = uvicorn.Server(config)

    def run(self):
        asyncio.run(self.server.serve())

    def start_and_wait(self) -> str:
        self.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert time.monotonic() < deadline, "Prism did not start"
            time.sleep(0.02)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def stop(self):
        self.server.should_exit = True
        self.join(10)


@pytest.fixture(scope="session")
def prism_url(upstream, django_db_setup, django_db_blocker):
    server = ServerThread()
    yield server.start_and_wait()
    server.stop()
    with django_db_blocker.unblock():
        _close_other_connections()


def _close_other_connections():
    """The server's worker threads keep their database connections; PostgreSQL cannot drop the test database
    while they are open."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                           "WHERE datname = current_database() AND pid <> pg_backend_pid()")


@pytest.fixture(autouse=True)
def fresh_directory():
    directory.clear()


@pytest.fixture
def tenant(db):
    return Tenant.objects.create(name="acme")


@pytest.fixture
def api_key(tenant) -> str:
    return key_issue(tenant=tenant, label="test")[1]


@pytest.fixture
def openai_client(transactional_db, prism_url, api_key) -> openai.OpenAI:
    with openai.OpenAI(base_url=f"{prism_url}/v1", api_key=api_key, max_retries=0) as client:
        yield client


@pytest.fixture
async def async_openai_client(transactional_db, prism_url, api_key):
    async with openai.AsyncOpenAI(base_url=f"{prism_url}/v1", api_key=api_key, max_retries=0) as client:
        yield client


def record(api_key, request_id, *, model="gpt-4", prompt=1000, completion=500, status=200, latency=10, ttft=None,
           ago=timedelta(minutes=5)):
    """A usage record as the gateway builds it, for tests that store usage directly."""
    return {
        "tenant_id": api_key.tenant_id, "api_key_id": api_key.id, "request_id": request_id,
        "requested_model": model, "served_model": model, "provider": "openai_provider", "deployment": "", "operation": "chat",
        "prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion,
        **dict.fromkeys(TOKEN_CLASSES[3:], 0), "service_tier": "", "usage_source": "upstream",
        "status_code": status, "error_type": "" if status == 200 else "server_error", "is_stream": ttft is not None,
        "latency_ms": latency, "ttft_ms": ttft, "created_at": timezone.now() - ago,
    }


def usage_records(count: int, timeout: float = 10.0) -> list[UsageRecord]:
    """Wait until `count` usage records are stored (they are written in batches) and return them, oldest first."""
    deadline = time.monotonic() + timeout
    while (found := UsageRecord.objects.count()) < count:
        assert time.monotonic() < deadline, f"{found} usage records stored, expected {count}"
        time.sleep(0.02)
    time.sleep(0.1)  # a record too many would show now
    records = list(UsageRecord.objects.order_by("created_at", "id"))
    assert len(records) == count
    return records


def database_url_of_tests() -> str:
    """The test database as a DATABASE_URL, for Prism processes that the tests start."""
    from django.db import connection

    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def PrismProcess(upstream_url: str, *, server: str = "daphne", **env) -> Server:
    """Prism in its own process on the test database, under daphne (as the quickstart runs it) or uvicorn."""
    command = {
        "daphne": [BIN / "python", "-m", "prism_site.serve_daphne", "-b", "127.0.0.1", "-p", "{port}",
                   "prism_site.asgi:application"],
        "uvicorn": [BIN / "uvicorn", "--port", "{port}", "--log-level", "warning", "prism_site.asgi:application"],
    }[server]
    return Server(f"prism {server}", command, {"DATABASE_URL": database_url_of_tests(), "OPENAI_BASE_URL": upstream_url, **env})
