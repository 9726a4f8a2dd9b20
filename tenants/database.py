"""Database calls off Django's request cycle: they reconnect after a dropped connection and end in time.

Django closes a broken or old connection when a request starts and ends. The gateway's key and route
lookups, the budget seeds and the usage writer run on threads of their own, outside that cycle, so
every such call goes through `off_request`: it drops a connection that failed or outlived
DB_CONN_MAX_AGE and, with CONN_HEALTH_CHECKS, checks the one it keeps before using it (a connection
that PostgreSQL ended is replaced, not reported). A call that outlives its deadline (a database that
accepts bytes and never answers) has its socket shut down, which frees its thread; PostgreSQL's own
statement_timeout (DB_STATEMENT_TIMEOUT_MS) bounds the queries of every connection.
"""

import asyncio
import contextlib
import functools
import os
import socket
import threading
import time
from concurrent.futures import TimeoutError as FutureTimeout

from asgiref.sync import SyncToAsync, sync_to_async
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, OperationalError, connection, connections


def lookup_deadline() -> float:
    """Hot-path reads are small indexed queries: a database that takes longer is down to the client."""
    return settings.DB_CONNECT_TIMEOUT


def query_deadline() -> float | None:
    """Other calls may run a statement as long as PostgreSQL allows, after connecting."""
    statement = settings.DB_STATEMENT_TIMEOUT_MS / 1000
    return settings.DB_CONNECT_TIMEOUT + statement if statement else None


def off_request(deadline=query_deadline):
    """Decorate a function that queries the database off the request cycle (see the module)."""

    def decorate(func):
        @functools.wraps(func)
        def call(*args, **kwargs):
            wrapper = connections[DEFAULT_DB_ALIAS]  # this thread's own, for the watchdog
            if wrapper.in_atomic_block:  # inside a caller's transaction, which owns the connection
                return func(*args, **kwargs)
            wrapper.close_if_unusable_or_obsolete()
            seconds = deadline()
            if seconds is None or wrapper.vendor != "postgresql":
                return func(*args, **kwargs)
            with watchdog.watch(wrapper, seconds) as watched:
                try:
                    return func(*args, **kwargs)
                except DatabaseError as error:
                    if watched.expired:
                        raise OperationalError(f"The database did not answer within {seconds:g} s.") from error
                    raise

        return call

    return decorate


class _Call:
    """A call being watched: the thread's connection (Django's wrapper) and when it must have ended."""

    __slots__ = ("wrapper", "deadline", "expired")

    def __init__(self, wrapper, deadline):
        self.wrapper, self.deadline, self.expired = wrapper, deadline, False

    def interrupt(self):
        """Shut the connection's socket: the blocked read returns at once and the connection is dropped."""
        self.expired = True
        raw = self.wrapper.connection
        try:
            sock = socket.socket(fileno=os.dup(raw.fileno()))
        except (AttributeError, OSError, self.wrapper.Database.Error):  # not connected (yet)
            return
        with sock:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class Watchdog:
    """One thread that interrupts the calls that outlive their deadline."""

    def __init__(self):
        self._calls = set()
        self._wake = threading.Condition()
        self._next = None  # the deadline the thread sleeps until
        self._thread = None

    @contextlib.contextmanager
    def watch(self, wrapper, seconds: float):
        call = _Call(wrapper, time.monotonic() + seconds)
        with self._wake:
            self._calls.add(call)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="prism-db-watchdog", daemon=True)
                self._thread.start()
            if self._next is None or call.deadline < self._next:
                self._wake.notify()
        try:
            yield call
        finally:
            with self._wake:  # once out, the call is never interrupted
                self._calls.discard(call)

    def _run(self):
        with self._wake:
            while True:
                now = time.monotonic()
                for call in [call for call in self._calls if call.deadline <= now]:
                    self._calls.discard(call)
                    call.interrupt()
                self._next = min((call.deadline for call in self._calls), default=None)
                self._wake.wait(None if self._next is None else self._next - now)


watchdog = Watchdog()


async def lookup(func, /, **kwargs):
    """Run a hot-path read as Django runs sync code (on its one thread for it, in a server), waiting at most
    lookup_deadline() seconds, queueing included; then fail as an unreachable database does."""
    call = asyncio.ensure_future(sync_to_async(func)(**kwargs))
    seconds = lookup_deadline()
    try:
        return await asyncio.wait_for(asyncio.shield(call), seconds)
    except TimeoutError:
        call.cancel()  # dropped if still queued; if running, it ends at its own deadline, unheard
        call.add_done_callback(lambda ended: ended.cancelled() or ended.exception())
        raise OperationalError(f"The database did not answer within {seconds:g} s.") from None


def lookup_check() -> None:
    """Query the database on the hot path's thread and connection, as its lookups would (for /readyz)."""
    seconds = lookup_deadline()
    future = SyncToAsync.single_thread_executor.submit(database_ping)
    try:
        future.result(seconds)
    except FutureTimeout:
        future.cancel()
        raise OperationalError(f"The database did not answer within {seconds:g} s.") from None


@off_request(lookup_deadline)
def database_ping() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
