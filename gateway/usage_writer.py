"""Usage records: built when a request ends, stored in batches off the response path, never dropped.

Records wait in memory and are written every PRISM_USAGE_FLUSH_INTERVAL seconds (or sooner when a
batch is full), on a worker thread of their own: key and route lookups, which share Django's
thread-sensitive thread, never wait behind a large batch. A failed write keeps them for the next
try; at exit the process writes what is left. Request ids are unique, so a batch written twice is
still counted once.
"""

import asyncio
import atexit
import logging
import time

from channels.db import database_sync_to_async
from django.conf import settings
from django.db import DatabaseError
from django.utils import timezone

from tenants.services import usage_records_create

from .observability import USAGE_QUEUE

logger = logging.getLogger(__name__)

CLIENT_CLOSED_REQUEST = 499


def usage_record(context) -> dict:
    """The usage record of a finished request, from the context the pipeline filled."""
    usage = context.usage or {}
    response, error = context.response, context.error
    status = response.status if response is not None else 500
    error_type = ""
    if context.metadata.get("client_gone"):
        status, error_type = CLIENT_CLOSED_REQUEST, "client_disconnected"
    elif error is not None:
        status = status if response is not None and response.stream is not None else error.status_code
        error_type = error.code or error.type
    elif status != 200 and context.response_data:
        error = context.response_data.get("error")
        error_type = str(error.get("type") or "") if isinstance(error, dict) else ""
    served_model = (context.response_data or {}).get("model")
    now = time.perf_counter()
    return {
        "tenant_id": context.api_key.tenant_id,
        "api_key_id": context.api_key.id,
        "request_id": context.request_id,
        "requested_model": context.requested_model[:100],
        "served_model": str(served_model or (context.route.upstream_model if context.route else ""))[:100],
        "provider": context.route.provider_name if context.route else "",
        "deployment": context.route.deployment if context.route else "",
        "operation": context.operation.name,
        "prompt_tokens": usage.get("prompt_tokens") or 0,
        "completion_tokens": usage.get("completion_tokens") or 0,
        "total_tokens": usage.get("total_tokens") or 0,
        "cached_tokens": usage.get("cached_tokens") or 0,
        "cache_write_tokens": usage.get("cache_write_tokens") or 0,
        "reasoning_tokens": usage.get("reasoning_tokens") or 0,
        "usage_source": context.metadata.get("usage_source", "upstream"),
        "status_code": status,
        "error_type": error_type[:50],
        "is_stream": context.stream,
        "latency_ms": round((now - context.started_at) * 1000),
        "ttft_ms": round((context.first_byte_at - context.started_at) * 1000) if context.first_byte_at else None,
        "created_at": timezone.now(),
    }


class UsageWriter:
    def __init__(self):
        self.pending: list[dict] = []
        self._task = None
        self._lock, self._lock_loop = None, None
        atexit.register(self.flush_sync)

    def add(self, record: dict) -> None:
        self.pending.append(record)
        USAGE_QUEUE.set(len(self.pending))
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self):
        """Store a batch per interval (at once if a full one waits): never a batch per request."""
        while self.pending:
            if len(self.pending) < settings.PRISM_USAGE_BATCH_SIZE:
                await asyncio.sleep(settings.PRISM_USAGE_FLUSH_INTERVAL)
            try:
                await self._store_next()
            except DatabaseError:  # the database is away: keep the records and try again
                logger.exception("Could not store %d usage records; retrying", len(self.pending))
                await asyncio.sleep(settings.PRISM_USAGE_FLUSH_INTERVAL * 4)

    async def flush(self):
        """Store every waiting record, as at shutdown."""
        while self.pending:
            await self._store_next()

    async def _store_next(self):
        """Store the oldest batch; one write at a time, so that a flush never writes the batch being written."""
        async with self._write_lock():
            batch = self.pending[: settings.PRISM_USAGE_BATCH_SIZE]
            if batch:
                await database_sync_to_async(usage_records_create, thread_sensitive=False)(records=batch)
                del self.pending[: len(batch)]  # records leave the queue only once stored; new ones join its end
                USAGE_QUEUE.set(len(self.pending))

    def _write_lock(self) -> asyncio.Lock:
        """The lock of the running event loop (tests run one loop after another)."""
        loop = asyncio.get_running_loop()
        if self._lock_loop is not loop:
            self._lock, self._lock_loop = asyncio.Lock(), loop
        return self._lock

    def flush_sync(self):
        """At exit, with no event loop left: store what is left, a batch at a time."""
        while self.pending:
            batch = self.pending[: settings.PRISM_USAGE_BATCH_SIZE]
            usage_records_create(records=batch)
            del self.pending[: len(batch)]


usage_writer = UsageWriter()
