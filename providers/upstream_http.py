"""A lean HTTP/1.1 client for the upstreams: pooled keep-alive connections, answers parsed by httptools.

The relay needs little of a general client: one request at a time on a connection, a body of known
length, the answer whole or as its bytes arrive (chunked transfer decoded), timeouts, TLS. Doing only
that, in one protocol object per connection and httptools' C parser, costs a fraction of aiohttp's
client per request and per streamed chunk, which every call through Prism pays.

No Accept-Encoding is sent, so upstreams answer uncompressed. A connection the upstream closed while
idle in the pool is noticed and dropped; a request that finds its reused connection closed before any
answer is sent once more on a new one (the upstream never saw it).
"""

import asyncio
import ssl
from collections import deque
from functools import lru_cache
from urllib.parse import urlsplit

import httptools

# A streamed answer's unread bytes above which the connection stops reading until the client catches up.
HIGH_WATER = 256 * 1024


class Unreachable(Exception):
    """No answer: the connection could not be made, or closed before the answer began."""


class Cut(Exception):
    """The answer began but the connection closed, or the parser refused it, before it ended."""


class Timeouts:
    """Seconds to connect, to wait for each read (the first byte and any pause in a stream), and in all."""

    __slots__ = ("connect", "read", "total")

    def __init__(self, connect: float, read: float, total: float):
        self.connect, self.read, self.total = connect, read, total


@lru_cache(maxsize=1024)
def _target(url: str) -> tuple[tuple, bytes, bytes]:
    """(pool key (scheme, host, port), the request target, the Host header) of a URL."""
    parts = urlsplit(url)
    secure = parts.scheme == "https"
    port = parts.port or (443 if secure else 80)
    host = parts.hostname or ""
    named = f"[{host}]" if ":" in host else host  # an IPv6 address, bracketed; never the URL's user and password
    if port != (443 if secure else 80):
        named += f":{port}"
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return (secure, host, port), target.encode(), named.encode()


class _Connection(asyncio.Protocol):
    """One keep-alive connection and the answer it is reading."""

    def __init__(self, loop):
        self.loop = loop
        self.transport = None
        self.closed = False
        self._begin()

    def _begin(self):
        self.parser = httptools.HttpResponseParser(self)
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.head_done = self.complete = self.keep_alive = False
        self.received = False  # any byte of this answer
        self.chunks: deque[bytes] = deque()
        self.buffered = 0
        self.error: Exception | None = None
        self.waiter: asyncio.Future | None = None
        self.last_read = self.loop.time()
        self.paused = False

    # asyncio.Protocol
    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.received = True
        self.last_read = self.loop.time()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as error:
            self.fail(Cut(f"unreadable answer: {error}"))

    def connection_lost(self, exc):
        self.closed = True
        if not self.complete:
            if self.head_done and not self._length_known():  # an answer that ends when the connection does
                self.on_message_complete()
            else:
                self.fail((Cut if self.received else Unreachable)("the connection closed"))

    # httptools' callbacks
    def on_header(self, name: bytes, value: bytes):
        self.headers.append((name, value))

    def on_headers_complete(self):
        self.status = self.parser.get_status_code()
        self.head_done = True
        self._wake()

    def on_body(self, body: bytes):
        self.chunks.append(body)
        self.buffered += len(body)
        if self.buffered > HIGH_WATER and not self.paused:
            self.paused = True
            self.transport.pause_reading()
        self._wake()

    def on_message_complete(self):
        self.complete = True
        self.keep_alive = self.parser.should_keep_alive()  # the parser forgets it once the message is over
        self._wake()

    def _length_known(self) -> bool:
        return any(name.lower() in (b"content-length", b"transfer-encoding") for name, _ in self.headers)

    def _wake(self):
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    def fail(self, error: Exception):
        if self.error is None and not self.complete:
            self.error = error
        self.close()
        self._wake()

    def close(self):
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    async def wait(self, timeouts: Timeouts, deadline: float):
        """Until the parser has something new; raises the connection's error or TimeoutError."""
        if self.error is not None:
            raise self.error
        self.waiter = self.loop.create_future()
        timer = self.loop.call_at(min(self.last_read + timeouts.read, deadline), self._check_time, timeouts, deadline)
        try:
            await self.waiter
        finally:
            timer.cancel()
            self.waiter = None
        if self.error is not None:
            raise self.error

    def _check_time(self, timeouts: Timeouts, deadline: float):
        """The timer of a wait: fail once the read pause or the total time is over, else look again later."""
        now, due = self.loop.time(), min(self.last_read + timeouts.read, deadline)
        if now >= due:
            self.fail(TimeoutError())
        elif self.waiter is not None:
            self.loop.call_at(due, self._check_time, timeouts, deadline)

    def take(self) -> bytes:
        data = b"".join(self.chunks) if len(self.chunks) != 1 else self.chunks[0]
        self.chunks.clear()
        self.buffered = 0
        if self.paused:
            self.paused = False
            self.transport.resume_reading()
        return data


class Answer:
    """An upstream's answer: status and raw headers at once, the body whole (`read`) or as it comes (`chunks`)."""

    def __init__(self, client: "UpstreamClient", key, connection: _Connection, timeouts: Timeouts, deadline: float):
        self.client, self.key, self.connection = client, key, connection
        self.timeouts, self.deadline = timeouts, deadline
        self.status, self.raw_headers = connection.status, connection.headers

    def header(self, name: bytes) -> bytes:
        """A header's value (the first, by lower-case name), or b""."""
        return next((value for found, value in self.raw_headers if found.lower() == name), b"")

    async def read(self) -> bytes:
        connection, chunks = self.connection, []
        try:
            while not connection.complete:
                await connection.wait(self.timeouts, self.deadline)
                chunks.append(connection.take())
            chunks.append(connection.take())
        finally:
            self.release()
        return b"".join(chunks)

    async def chunks(self):
        """The body's bytes as they arrive; the connection is closed if the reader stops early."""
        connection = self.connection
        try:
            while True:
                if connection.chunks:
                    yield connection.take()
                elif connection.complete:
                    return
                else:
                    await connection.wait(self.timeouts, self.deadline)
        finally:
            self.release()

    def release(self):
        """Give the connection back to the pool if the answer was read to its end and it may be kept."""
        connection, self.connection = self.connection, None
        if connection is None:
            return
        if connection.keep_alive and not connection.closed and connection.error is None:
            connection._begin()
            self.client.idle.setdefault(self.key, deque()).append(connection)
        else:
            connection.close()


class UpstreamClient:
    """Pooled connections to the upstreams, per scheme, host and port, on one event loop."""

    def __init__(self):
        self.loop = asyncio.get_running_loop()
        self.idle: dict[tuple, deque[_Connection]] = {}
        self._tls = None

    async def request(self, method: str, url: str, headers: dict[str, str], body: bytes | None,
                      timeouts: Timeouts) -> Answer:
        key, target, host = _target(url)
        head = [f"{method} ".encode(), target, b" HTTP/1.1\r\nHost: ", host, b"\r\n"]
        for name, value in headers.items():
            line = f"{name}: {value}\r\n"
            if line.count("\n") != 1 or "\r" in line[:-2]:
                raise ValueError(f"header {name!r} holds a line break")
            head.append(line.encode())
        head.append(b"Content-Length: %d\r\n\r\n" % len(body) if body is not None else b"\r\n")
        message = b"".join(head) + (body or b"")
        deadline = self.loop.time() + timeouts.total
        while True:
            connection, reused = self._idle(key), True
            if connection is None:
                connection, reused = await self._connect(key, timeouts, deadline), False
            connection.last_read = self.loop.time()
            connection.transport.write(message)
            try:
                while not connection.head_done:
                    await connection.wait(timeouts, deadline)
            except Unreachable:
                if reused:  # closed by the upstream while idle: it never saw this request
                    continue
                raise
            except BaseException:
                connection.close()
                raise
            return Answer(self, key, connection, timeouts, deadline)

    def _idle(self, key) -> _Connection | None:
        pool = self.idle.get(key)
        while pool:
            connection = pool.pop()
            if not connection.closed and not connection.transport.is_closing():
                return connection
        return None

    async def _connect(self, key, timeouts: Timeouts, deadline: float) -> _Connection:
        secure, host, port = key
        if secure and self._tls is None:
            self._tls = ssl.create_default_context()
        try:
            async with asyncio.timeout_at(min(self.loop.time() + timeouts.connect, deadline)):
                _, connection = await self.loop.create_connection(
                    lambda: _Connection(self.loop), host, port, ssl=self._tls if secure else None,
                    server_hostname=host if secure else None,
                )
        except (OSError, ssl.SSLError) as error:
            raise Unreachable(str(error)) from None
        return connection

    def close(self):
        for pool in self.idle.values():
            for connection in pool:
                connection.close()
        self.idle.clear()
