"""What an operator meets in the first hour: the front page, the production command line, health probes by IP."""

import httpx2 as httpx
import pytest

from bench.servers import BIN, Server
from tenants.models import ApiKey
from tests.conftest import PrismProcess, database_url_of_tests, usage_records


def test_the_front_page_says_what_prism_is_where_to_go_and_that_it_is_ready(client, db):
    page = client.get("/")
    assert page.status_code == 200 and page["Content-Type"].startswith("text/html")
    text = page.content.decode()
    assert "OpenAI-compatible LLM gateway" in text and "Ready: the database and the cache answer." in text
    for link in ['href="/console/"', 'href="/admin/"', 'href="/healthz"', "http://testserver/v1"]:
        assert link in text


def test_the_front_page_of_a_prism_without_its_database_says_it_is_not_ready(upstream, transactional_db):
    prism = PrismProcess(upstream.url, server="uvicorn", DATABASE_URL="postgres://postgres@127.0.0.1:1/prism")
    try:
        page = httpx.get(f"{prism.url}/", timeout=10)
    finally:
        prism.stop()
    assert page.status_code == 200 and "Not ready" in page.text


def test_health_probes_answer_any_host_and_nothing_else_does(client, db, settings):
    settings.ALLOWED_HOSTS = ["prism.example.com"]
    for path in ["/healthz", "/readyz"]:
        assert client.get(path, HTTP_HOST="10.1.2.3").json() == {"status": "ok"}
    for path in ["/", "/metrics", "/admin/", "/v1/models", "/healthz/x"]:
        assert client.get(path, HTTP_HOST="10.1.2.3").status_code == 400
    assert client.get("/", HTTP_HOST="prism.example.com").status_code == 200


@pytest.fixture
def production(upstream, tmp_path, transactional_db):
    """The README's uvicorn line: several workers, ALLOWED_HOSTS set, PROMETHEUS_MULTIPROC_DIR not made yet."""
    metrics_dir = tmp_path / "not-yet" / "prometheus"
    prism = Server("prism uvicorn workers",
                   [BIN / "uvicorn", "prism_site.asgi:application", "--host", "127.0.0.1", "--port", "{port}",
                    "--workers", "2", "--no-access-log"],
                   {"DATABASE_URL": database_url_of_tests(), "OPENAI_BASE_URL": upstream.url, "DEBUG": "0",
                    "ALLOWED_HOSTS": "prism.example.com", "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)})
    yield prism, metrics_dir
    prism.stop()


def test_the_production_command_line_starts_and_load_balancers_can_probe_it_by_ip(production, api_key):
    prism, metrics_dir = production
    by_ip = {"Host": "10.1.2.3"}
    for path in ["/healthz", "/readyz"]:
        assert httpx.get(f"{prism.url}{path}", headers=by_ip).status_code == 200
    assert "DisallowedHost" not in prism.read_output() and "Traceback" not in prism.read_output()
    assert httpx.get(f"{prism.url}/v1/models", headers=by_ip).status_code == 400  # the host check stays
    named = {"Host": "prism.example.com", "Authorization": f"Bearer {api_key}"}
    assert httpx.get(f"{prism.url}/v1/models", headers=named).status_code == 200
    assert metrics_dir.is_dir()
    assert "prism_open_streams" in httpx.get(f"{prism.url}/metrics", headers=named).text


def test_rate_limit_headers_come_with_a_per_minute_limit_only(openai_client):
    def headers():
        response = openai_client.chat.completions.with_raw_response.create(
            model="mock-1", messages=[{"role": "user", "content": "hi"}])
        return {name: value for name, value in response.headers.items() if name.startswith("x-ratelimit-")}

    assert headers() == {}
    api_key = ApiKey.objects.get()
    api_key.monthly_token_budget = 10**6
    api_key.save()
    assert headers() == {}  # a budget alone: no header
    api_key.rpm_limit = 100
    api_key.save()
    assert set(headers()) == {"x-ratelimit-limit-requests", "x-ratelimit-remaining-requests", "x-ratelimit-reset-requests"}
    api_key.tenant.tpm_limit = 10_000
    api_key.tenant.save()
    assert headers()["x-ratelimit-limit-tokens"] == "10000"
    usage_records(4)
