"""Defences of the web side: CSV exports, /metrics, login throttling and the HTTPS settings of production."""

import csv
import io
import os
import re
import secrets
import shlex
import subprocess
import sys
from pathlib import Path

import httpx2 as httpx
import pytest
from django.contrib.auth import get_user_model

from gateway.observability import OTHER_MODELS, metrics_text, request_observe
from tenants.models import ApiKey
from tenants.services import usage_records_create
from tests.conftest import record, usage_records

ROOT = Path(__file__).resolve().parent.parent
FORMULAS = ["=HYPERLINK(\"http://evil.example\",\"x\")", "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"]


def test_csv_exports_never_start_a_cell_with_a_formula(api_key, admin_client):
    key = ApiKey.objects.get()
    usage_records_create(records=[record(key, f"r{index}", model=model) for index, model in enumerate(FORMULAS)])
    for table in ["recent", "by_model"]:
        rows = list(csv.DictReader(io.StringIO(admin_client.get(f"/dashboard/export/{table}.csv").content.decode())))
        column = "requested_model" if table == "recent" else "name"
        assert sorted(row[column] for row in rows) == sorted("'" + model for model in FORMULAS)
        assert all(not cell.startswith(("=", "+", "-", "@", "\t", "\r")) for row in rows for cell in row.values())


def test_metrics_are_for_this_machine_without_a_token(client, admin_client):
    assert client.get("/metrics").status_code == 200  # the test client calls from 127.0.0.1
    assert client.get("/metrics", REMOTE_ADDR="::1").status_code == 200
    refused = client.get("/metrics", REMOTE_ADDR="203.0.113.7")
    assert refused.status_code == 403 and "PRISM_METRICS_TOKEN" in refused.json()["error"]["message"]
    assert admin_client.get("/metrics", REMOTE_ADDR="203.0.113.7").status_code == 200  # staff, logged in


def test_metrics_need_the_token_when_one_is_set(client, settings):
    settings.PRISM_METRICS_TOKEN = token = secrets.token_urlsafe()
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    answer = client.get("/metrics", REMOTE_ADDR="203.0.113.7", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert answer.status_code == 200 and b"prism_requests_total" in answer.content


def model_labels() -> set[str]:
    return set(re.findall(r'^prism_requests_total\{[^}]*model="([^"]*)"', metrics_text().decode(), re.MULTILINE))


def observed(model: str, served: str | None = None) -> dict:
    return {"request_id": "r", "requested_model": model, "served_model": served or model, "provider": "openai_provider",
            "operation": "chat", "deployment": "",
            "status_code": 200, "error_type": "", "is_stream": False, "prompt_tokens": 1, "completion_tokens": 1,
            "total_tokens": 2, "latency_ms": 1, "ttft_ms": None}


def test_invented_model_names_share_one_metrics_label(db):
    before = model_labels()
    for index in range(3000):
        request_observe(observed(f"gpt-4-invented-{index}"), "acme")
    request_observe(observed("gpt-4"), "acme")  # in the OpenAI provider's catalogue
    request_observe(observed("my-alias", served="gpt-4o-2024-08-06"), "acme")  # renamed by a route or the upstream
    assert model_labels() - before <= {OTHER_MODELS, "gpt-4", "gpt-4o-2024-08-06"}
    assert {OTHER_MODELS, "gpt-4", "gpt-4o-2024-08-06"} <= model_labels()
    assert len(metrics_text()) < 200_000


def test_invented_models_sent_through_prism_count_as_other(prism_url, openai_client):
    for index in range(20):
        openai_client.chat.completions.create(model=f"gpt-4-made-up-{index}", messages=[{"role": "user", "content": "x"}])
    usage_records(20)  # observed with the record, after the answer
    metrics = httpx.get(f"{prism_url}/metrics").text
    assert "gpt-4-made-up" not in metrics and f'model="{OTHER_MODELS}"' in metrics


@pytest.fixture
def staff(db):
    return get_user_model().objects.create_superuser("staff", password="the-right-password")


@pytest.mark.parametrize("login", ["/admin/login/", "/dashboard/login/", "/console/login/"])
def test_wrong_passwords_lock_the_account_and_the_address_out(client, staff, settings, login):
    def attempt(password, username="staff", address="198.51.100.1"):
        return client.post(login, {"username": username, "password": password}, REMOTE_ADDR=address)

    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert attempt("wrong").status_code == 200  # the form again, with its error
    assert attempt("wrong").status_code == 429
    locked = attempt("the-right-password")
    assert locked.status_code == 429 and "locked for 15 minutes" in locked.content.decode()
    assert attempt("the-right-password", address="198.51.100.2").status_code == 429  # the account, from elsewhere
    assert attempt("x", username="other").status_code == 429  # the address, for another account
    assert not client.session.get("_auth_user_id")


def test_a_right_password_before_the_limit_logs_in(client, staff, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        client.post("/dashboard/login/", {"username": "staff", "password": "wrong"})
    assert client.post("/dashboard/login/", {"username": "staff", "password": "the-right-password"}).status_code == 302


def production_environment() -> dict:
    """The environment that README's Production section exports, with its `...` placeholders filled in."""
    section = (ROOT / "README.md").read_text().split("## Production", 1)[1].split("\n## ", 1)[0]
    exported = [word for line in section.splitlines() if line.startswith("export ") for word in shlex.split(line)[1:]]
    names_values = [word.split("=", 1) for word in exported]
    return {name: secrets.token_urlsafe(40) if value.endswith("...") else value for name, value in names_values}


def manage(*args, **env) -> subprocess.CompletedProcess:
    clean = {name: value for name, value in os.environ.items()
             if not name.startswith(("SECURE_", "SESSION_", "CSRF_", "DEBUG", "DATABASE_URL", "REDIS_URL"))}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env={**clean, **env},
                          capture_output=True, text=True, timeout=120)


def test_the_documented_production_profile_passes_djangos_deploy_checks():
    environment = production_environment()
    assert environment["DEBUG"] == "0" and "SECURE_PROXY_SSL_HEADER" in environment
    checked = manage("check", "--deploy", "--fail-level", "WARNING", **environment)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "no issues" in checked.stdout


SHOW_HTTPS = ("from django.conf import settings as s; print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, "
              "s.SECURE_HSTS_SECONDS, s.SECURE_SSL_REDIRECT, s.SECURE_PROXY_SSL_HEADER)")


def test_https_defaults_are_secure_in_production_and_off_in_the_quickstart():
    production = manage("shell", "--no-imports", "-c", SHOW_HTTPS, DEBUG="0", SECRET_KEY="k" * 50, PRISM_KEY_PEPPER="p")
    assert production.stdout.split() == ["True", "True", "31536000", "False", "None"], production.stderr
    quickstart = manage("shell", "--no-imports", "-c", SHOW_HTTPS, DEBUG="1")
    assert quickstart.stdout.split() == ["False", "False", "0", "False", "None"], quickstart.stderr
    assert manage("check", DEBUG="1").returncode == 0
