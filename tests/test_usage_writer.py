"""The usage writer: records leave memory in batches, each written once."""

import asyncio
import time

from gateway import usage_writer as writer_module
from gateway.usage_writer import UsageWriter
from tenants.models import Tenant, UsageRecord
from tenants.services import key_issue, usage_records_create
from tests.conftest import record


async def test_steady_traffic_is_stored_a_batch_per_interval(transactional_db, settings, monkeypatch):
    """Requests ending while a batch is written wait for the next interval, not for a write of their own."""
    settings.PRISM_USAGE_FLUSH_INTERVAL = 0.1
    tenant = await Tenant.objects.acreate(name="steady")
    key, _ = await asyncio.to_thread(key_issue, tenant=tenant)
    batches = []

    def stored(*, records):  # as a busy database would: 20 ms a batch
        batches.append(len(records))
        time.sleep(0.02)
        usage_records_create(records=records)

    monkeypatch.setattr(writer_module, "usage_records_create", stored)
    writer = UsageWriter()
    for number in range(60):  # one request ending every 5 ms for 0.3 s
        writer.add(record(key, f"steady-{number}"))
        await asyncio.sleep(0.005)
    writes = len(batches)
    while len(batches) == writes:  # flush while a write is under way, as a server stopping might
        await asyncio.sleep(0.001)
    await writer.flush()
    assert sum(batches) == 60 and len(batches) <= 5, batches
    assert await UsageRecord.objects.acount() == 60
