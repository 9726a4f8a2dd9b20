"""The production profile: several processes on one database (and Redis), health, metrics and logs."""

import json
import threading
import time

import httpx2 as httpx
import pytest

from tenants.services import key_revoke
from tests.conftest import PrismProcess, usage_records
from tests.openapi import assert_valid

CHAT = {"model": "gpt-4", "messages": [{"role": "user", "content": "hi"}]}


def chat(url, key):
    return httpx.post(f"{url}/v1/chat/completions", json=CHAT, headers={"Authorization": f"Bearer {key}"}, timeout=10)


def test_health_readiness_and_metrics(prism_url, api_key, transactional_db):
    assert httpx.get(f"{prism_url}/healthz").json() == {"status": "ok"}
    assert httpx.get(f"{prism_url}/readyz").json() == {"status": "ok"}
    assert chat(prism_url, api_key).status_code == 200
    usage_records(1)
    metrics = httpx.get(f"{prism_url}/metrics").text
    assert 'prism_requests_total{model="gpt-4",operation="chat",status="200",tenant="acme"}' in metrics
    assert 'prism_tokens_total{kind="completion",model="gpt-4",tenant="acme"}' in metrics
    assert "prism_open_streams" in metrics and "prism_usage_queue_depth" in metrics
    assert api_key not in metrics and api_key.split("-")[1] not in metrics


def test_an_unreachable_database_makes_prism_unready_and_answer_503_fast(upstream, api_key, transactional_db):
    prism = PrismProcess(upstream.url, server="uvicorn", DATABASE_URL="postgres://postgres@127.0.0.1:1/prism")
    try:
        assert httpx.get(f"{prism.url}/healthz").status_code == 200
        ready = httpx.get(f"{prism.url}/readyz")
        assert ready.status_code == 503 and "database" in ready.json()["error"]["message"]
        started = time.monotonic()
        response = chat(prism.url, api_key)
        assert response.status_code == 503 and time.monotonic() - started < 5
        assert_valid("ErrorResponse", response.json())
    finally:
        prism.stop()


@pytest.fixture
def two_prisms(upstream, transactional_db):
    prisms = [PrismProcess(upstream.url, server="uvicorn") for _ in range(2)]
    yield prisms
    for prism in prisms:
        if prism.process.poll() is None:
            prism.stop()


def test_a_key_revoked_anywhere_stops_working_everywhere_within_a_second(two_prisms, api_key):
    statuses = [chat(prism.url, api_key).status_code for prism in two_prisms]
    assert statuses == [200, 200]
    key_revoke(prefix=api_key.split("-")[1])
    revoked = time.monotonic()
    pending = set(range(len(two_prisms)))
    while pending:
        for index in list(pending):
            statuses.append(chat(two_prisms[index].url, api_key).status_code)
            if statuses[-1] == 401:
                pending.discard(index)
        assert time.monotonic() - revoked < 1.5, "a process kept accepting a revoked key"
    assert len(usage_records(statuses.count(200), timeout=5)) == statuses.count(200)


def test_sigterm_during_load_loses_no_usage_record(two_prisms, api_key):
    answered, lock, stop = [], threading.Lock(), threading.Event()

    def client(prism):
        with httpx.Client(timeout=10) as http:
            while not stop.is_set():
                try:
                    response = http.post(f"{prism.url}/v1/chat/completions", json=CHAT,
                                         headers={"Authorization": f"Bearer {api_key}"})
                except httpx.TransportError:
                    if prism.process.poll() is not None:
                        return  # the stopped process refuses new connections
                    continue
                with lock:
                    answered.append(response.status_code)

    threads = [threading.Thread(target=client, args=(prism,)) for prism in two_prisms for _ in range(3)]
    for thread in threads:
        thread.start()
    time.sleep(1)
    two_prisms[0].stop()
    time.sleep(0.5)
    stop.set()
    for thread in threads:
        thread.join()
    assert answered.count(200) == len(answered) > 50
    assert len(usage_records(len(answered), timeout=10)) == len(answered)


def test_one_json_log_line_per_request_without_secrets(upstream, api_key, transactional_db):
    prism = PrismProcess(upstream.url, server="uvicorn")
    try:
        response = chat(prism.url, api_key)
    finally:
        prism.stop()
    lines = [json.loads(line) for line in prism.read_output().splitlines() if line.startswith("{")]
    [line] = [line for line in lines if line["request_id"] == response.headers["x-prism-request-id"]]
    assert (line["tenant"], line["model"], line["status"], line["total_tokens"]) == ("acme", "gpt-4", 200, 10)
    assert line["latency_ms"] >= 0
    assert api_key not in json.dumps(lines)
