"""Usage survives what happens to a process and what a client sends: kill -9, poison records, dead processes' spools."""

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time

import httpx2 as httpx
import pytest
from asgiref.sync import sync_to_async
from django.db import connections
from prometheus_client import REGISTRY

from bench.servers import ROOT
from gateway.usage_spool import Spool
from gateway.usage_writer import UsageWriter
from tenants.models import Tenant, UsageRecord
from tenants.services import key_issue
from tests.conftest import PrismProcess, record

CHAT = {"model": "gpt-4", "messages": [{"role": "user", "content": "hi"}]}


@pytest.mark.parametrize("server", ["daphne", "uvicorn"])
def test_kill_9_under_load_loses_no_usage_record(server, upstream, api_key, transactional_db, tmp_path):
    spool = {"PRISM_SPOOL_DIR": str(tmp_path)}
    # Records would wait a minute in memory: without the spool the kill would lose them all.
    prism = PrismProcess(upstream.url, server=server, PRISM_USAGE_FLUSH_INTERVAL="60", **spool)
    answered, lost, lock, killed = [], [], threading.Lock(), threading.Event()

    def client():
        with httpx.Client(timeout=10) as http:
            while True:
                try:
                    response = http.post(f"{prism.url}/v1/chat/completions", json=CHAT,
                                         headers={"Authorization": f"Bearer {api_key}"})
                except httpx.TransportError:  # in flight when the process died
                    with lock:
                        lost.append(1)
                    return
                with lock:
                    answered.append(response.headers["x-prism-request-id"])
                if killed.is_set():
                    return

    threads = [threading.Thread(target=client) for _ in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(1.5)
    prism.stop(signal.SIGKILL)
    killed.set()
    for thread in threads:
        thread.join()
    assert UsageRecord.objects.count() == 0 and len(answered) > 100

    restarted = PrismProcess(upstream.url, server=server, **spool)
    try:
        after = httpx.post(f"{restarted.url}/v1/chat/completions", json=CHAT,
                           headers={"Authorization": f"Bearer {api_key}"}, timeout=10)
        expected = set(answered) | {after.headers["x-prism-request-id"]}
        deadline = time.monotonic() + 20
        while UsageRecord.objects.count() < len(expected) and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)  # a record too many would show now
        stored = list(UsageRecord.objects.values_list("request_id", flat=True))
    finally:
        restarted.stop()
    assert expected <= set(stored) and len(stored) == len(set(stored))
    assert len(stored) - len(expected) <= len(lost)  # a request can be recorded and its answer lost in the kill


@pytest.mark.parametrize("stream", [False, True])
async def test_a_request_s_record_is_handed_to_the_writer_before_its_answer_ends(stream, upstream, api_key,
                                                                                 transactional_db):
    """So that a process killed once the client has its whole answer has the record in its spool."""
    from gateway.usage_writer import usage_writer
    from prism_site.asgi import application

    body = json.dumps({**CHAT, "stream": stream}).encode()
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": "/v1/chat/completions", "raw_path": b"/v1/chat/completions", "query_string": b"",
             "root_path": "", "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000),
             "headers": [(b"authorization", f"Bearer {api_key}".encode()), (b"content-type", b"application/json"),
                         (b"content-length", str(len(body)).encode())]}
    requests = [{"type": "http.request", "body": body}]
    request_id, handed_over = None, None

    async def receive():
        if requests:
            return requests.pop()
        await asyncio.Event().wait()  # the client stays

    async def send(message):
        nonlocal request_id, handed_over
        if message["type"] == "http.response.start":
            request_id = dict(message["headers"])[b"x-prism-request-id"].decode()
        elif b"[DONE]" in message["body"] if stream else not message.get("more_body"):  # the answer's end
            handed_over = request_id in {found["request_id"] for found in usage_writer.pending}

    await application(scope, receive, send)
    assert request_id and handed_over
    await usage_writer.flush()  # stored now, in this test's database
    usage_writer._thread.submit(connections.close_all).result()


def test_a_starting_process_takes_over_the_spools_of_dead_processes_only(settings, tmp_path, transactional_db):
    settings.PRISM_SPOOL_DIR = tmp_path
    live = Spool()
    assert live.open() == []
    live.append({"request_id": "live-1", "created_at": "2026-11-29T08:00:00+00:00"})
    dead_process = (
        "import os, django; django.setup()\n"
        "from gateway.usage_spool import Spool\n"
        "spool = Spool(); spool.open()\n"
        "for n in range(3): spool.append({'request_id': f'dead-{n}', 'created_at': '2026-11-29T08:00:00+00:00'})\n"
        "os.kill(os.getpid(), 9)\n"
    )
    subprocess.run([sys.executable, "-c", dead_process], env={**os.environ, "PRISM_SPOOL_DIR": str(tmp_path)}, cwd=ROOT)

    heir = Spool()
    assert [found["request_id"] for found in heir.open()] == ["dead-0", "dead-1", "dead-2"]
    assert Spool().open() == []  # nobody takes them twice, nor the live process's
    heir.rotate()
    heir.done(3)
    spooled = b"".join(path.read_bytes() for path in tmp_path.glob("usage-*.jsonl"))
    assert b"live-1" in spooled and b"dead-" not in spooled


@pytest.fixture
def writer(transactional_db):
    writer = UsageWriter()
    yield writer
    writer._thread.submit(connections.close_all).result()  # its connection would keep the test database


async def test_records_the_database_cannot_store_are_cleaned_or_set_aside(writer, settings, tmp_path):
    settings.PRISM_SPOOL_DIR = tmp_path
    tenant = await Tenant.objects.acreate(name="poison")
    key, _ = await sync_to_async(key_issue)(tenant=tenant)
    gone, _ = await sync_to_async(key_issue)(tenant=tenant)
    await gone.adelete()
    dead_letters = REGISTRY.get_sample_value("prism_usage_dead_letters_total") or 0
    for found in [
        record(key, "nul", model="gpt-4\u0000"),
        record(key, "long", model="m" * 300),
        record(key, "surrogate", model="gpt-\ud800"),
        record(key, "huge", prompt=10**12, completion=-5),
        record(gone, "orphan"),  # its key is gone: no cleaning can store it
        record(key, "fine"),
    ]:
        writer.add(found)
    await writer.flush()

    stored = {found.request_id: found async for found in UsageRecord.objects.all()}
    assert set(stored) == {"nul", "long", "surrogate", "huge", "fine"}
    assert stored["nul"].requested_model == "gpt-4"
    assert stored["long"].requested_model == "m" * 100
    assert stored["surrogate"].requested_model == "gpt-?"
    assert stored["huge"].prompt_tokens > 0 and stored["huge"].completion_tokens == 0
    [line] = (tmp_path / "dead-letter.jsonl").read_text().splitlines()
    assert json.loads(line)["record"]["request_id"] == "orphan" and "IntegrityError" in json.loads(line)["reason"]
    assert REGISTRY.get_sample_value("prism_usage_dead_letters_total") == dead_letters + 1
    writer.flush_sync()
    assert not list(tmp_path.glob("usage-*"))  # everything stored: the spool is gone
