"""Usage records: built when a request ends, stored in batches off the response path, never dropped.

Records wait in memory, and on disk in this process's spool (`usage_spool`: a kill -9 loses none), and
are written every PRISM_USAGE_FLUSH_INTERVAL seconds (or sooner when a batch is full), on a database
thread of their own: key and route lookups never wait behind a large batch. A database that cannot be
reached keeps them for the next try; records it refuses go to the dead letter and never hold back the
others. At exit the process writes what is left; what it cannot write stays in the spool, and the next
process to start takes it over. Request ids are unique, so a record written twice is still counted once.
"""

import asyncio
import atexit
import logging
import time
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import DatabaseError
from django.utils import timezone

from tenants.models import TOKEN_CLASSES
from tenants.services import usage_records_create

from .observability import USAGE_QUEUE
from .usage_spool import Spool, dead_letter

logger = logging.getLogger(__name__)

CLIENT_CLOSED_REQUEST = 499


def usage_record(context) -> dict:
    """The usage record of a finished request, from the context the pipeline filled."""
    usage = context.usage or {}
    response, error = context.response, context.error
    status = response.status if response is not None else 500
    error_type = ""
    if context.metadata.get("client_gone") and not context.metadata.get("delivered_whole"):
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
        **{name: usage.get(name) or 0 for name in TOKEN_CLASSES},
        "service_tier": str(usage.get("service_tier") or (context.response_data or {}).get("service_tier") or "")[:20],
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
        self.spool = Spool()
        self._started = False
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="prism-usage")  # one connection
        self._task = None
        self._lock, self._lock_loop = None, None
        atexit.register(self.flush_sync)

    def start(self) -> None:
        """Open this process's spool and queue the records of dead processes (once; at startup or first use)."""
        if not self._started:
            self._started = True
            self.pending += self.spool.open()
            self._wake()

    def add(self, record: dict) -> None:
        self.start()
        self.spool.append(record)
        self.pending.append(record)
        self._wake()

    def _wake(self) -> None:
        USAGE_QUEUE.set(len(self.pending))
        if self.pending and (self._task is None or self._task.done()):
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
        """Store every waiting record, as at shutdown (what the database will not take stays in the spool)."""
        try:
            while self.pending:
                await self._store_next()
        except DatabaseError:
            logger.exception("Could not store %d usage records; they stay in the spool", len(self.pending))

    async def _store_next(self):
        """Store the oldest batch; one write at a time, so that a flush never writes the batch being written."""
        async with self._write_lock():
            batch = self.pending[: settings.PRISM_USAGE_BATCH_SIZE]
            if batch:
                self.spool.rotate()
                store = sync_to_async(usage_records_create, thread_sensitive=False, executor=self._thread)
                self._stored(batch, await store(records=batch))

    def _stored(self, batch: list[dict], refused: list[tuple[dict, str]]) -> None:
        """The batch is in the database, but for the refused records, which go to the dead letter first."""
        if refused:
            dead_letter(refused)
        del self.pending[: len(batch)]  # records leave the queue only once stored; new ones join its end
        self.spool.done(len(batch))
        USAGE_QUEUE.set(len(self.pending))

    def _write_lock(self) -> asyncio.Lock:
        """The lock of the running event loop (tests run one loop after another)."""
        loop = asyncio.get_running_loop()
        if self._lock_loop is not loop:
            self._lock, self._lock_loop = asyncio.Lock(), loop
        return self._lock

    def flush_sync(self):
        """At exit, with no event loop left: store what is left, a batch at a time."""
        try:
            while self.pending:
                batch = self.pending[: settings.PRISM_USAGE_BATCH_SIZE]
                self._stored(batch, usage_records_create(records=batch))
        except DatabaseError:
            logger.exception("Could not store %d usage records at exit; they stay in the spool", len(self.pending))
        self.spool.close()


usage_writer = UsageWriter()
