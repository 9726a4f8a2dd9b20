"""A minimal Redis client for the hot path: one pipelined connection per event loop, Lua scripts and plain commands.

Every request through Prism with limits, budgets or deployments makes Redis calls; redis-py spends more
per call (its pool, lock, encoder and parser) than the call's round trip costs. Here each call queues
one RESP command on the loop's connection (the commands of a turn of the loop go out in one write) and
waits for its reply, in order, so any number of calls are in flight on one connection and the pool
disappears. A call that takes longer than the timeout fails,
and closes the connection (a late reply would answer the wrong call); the next call connects again.
Failures are OSError (ConnectionError, TimeoutError) or RedisReplyError.

A `BatchScript` takes many calls in one: the calls a turn of the loop makes to it go as one EVALSHA,
each call's arguments after their count, and each call gets its own line of the answer. Redis parses
one script call instead of one per request, and Python packs and waits for one command. The arguments
stay separate (not lines for Lua to split and match): Lua's pattern matching cost Redis more CPU than
the script's commands.
"""

import asyncio
import hashlib
import ssl
from collections import deque
from functools import partial
from urllib.parse import parse_qs, unquote, urlsplit

INCOMPLETE = object()
DEFER_DELAY = 0.05  # seconds a deferred call waits for company


class RedisReplyError(Exception):
    """Redis answered with an error."""


class Script:
    """A Lua script, called by its SHA1 (and loaded on first use on a Redis that lacks it)."""

    def __init__(self, text: str):
        self.text = text
        self.sha = hashlib.sha1(text.encode()).hexdigest()


class BatchScript(Script):
    """A script called for many calls at once. `body` defines `local function call(first, n)`, which reads
    one call's n arguments, ARGV[first] to ARGV[first + n - 1], and returns its answer: one line of text."""

    def __init__(self, body: str):
        super().__init__(body + """
local out, at = {}, 1
while at <= #ARGV do
  local n = tonumber(ARGV[at])
  out[#out + 1] = call(at + 1, n)
  at = at + 1 + n
end
return table.concat(out, '\\n')
""")


def _pack(args: list[str]) -> bytes:
    """A command; when all is ASCII (Prism's own calls), packed as one string."""
    text = "".join([f"${len(arg)}\r\n{arg}\r\n" for arg in args])
    if not text.isascii():
        text = "".join([f"${len(arg.encode())}\r\n{arg}\r\n" for arg in args])
    return f"*{len(args)}\r\n{text}".encode()


def _parse(buffer: bytes, at: int):
    """(reply, where the next one starts) for the reply at `at`, or INCOMPLETE until it has all arrived."""
    end = buffer.find(b"\r\n", at)
    if end < 0:
        return INCOMPLETE
    kind, line = buffer[at:at + 1], buffer[at + 1:end]
    if kind == b"$":
        size = int(line)
        if size < 0:
            return None, end + 2
        stop = end + 2 + size
        return (buffer[end + 2:stop], stop + 2) if len(buffer) >= stop + 2 else INCOMPLETE
    if kind == b":":
        return int(line), end + 2
    if kind == b"+":
        return line, end + 2
    if kind == b"-":
        return RedisReplyError(line.decode(errors="replace")), end + 2
    if kind == b"*":
        count, at, items = int(line), end + 2, []
        for _ in range(max(count, 0)):
            parsed = _parse(buffer, at)
            if parsed is INCOMPLETE:
                return INCOMPLETE
            item, at = parsed
            items.append(item)
        return (items if count >= 0 else None), at
    raise ConnectionError(f"Redis sent an unreadable reply ({kind!r})")


class _Connection(asyncio.Protocol):
    def __init__(self):
        self.transport = None
        self.buffer = b""
        self.waiting: deque[asyncio.Future] = deque()
        self.unsent: list[bytes] = []  # this turn's commands, written together at its end
        self.lost = False

    def flush(self):
        commands, self.unsent = self.unsent, []
        if commands and not self.lost:
            self.transport.write(b"".join(commands))

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        buffer, at = self.buffer + data if self.buffer else data, 0
        try:
            while self.waiting:
                parsed = _parse(buffer, at)
                if parsed is INCOMPLETE:
                    break
                reply, at = parsed
                future = self.waiting.popleft()
                if not future.done():
                    if isinstance(reply, RedisReplyError):
                        future.set_exception(reply)
                    else:
                        future.set_result(reply)
        except ConnectionError as error:
            self.close(error)
            return
        self.buffer = buffer[at:]

    def connection_lost(self, exc):
        self.close(ConnectionError("Redis closed the connection"))

    def close(self, error: Exception):
        self.lost = True
        if self.transport is not None:
            self.transport.close()
        while self.waiting:
            future = self.waiting.popleft()
            if not future.done():
                future.set_exception(error)


class RedisWire:
    """Calls to the Redis at `url` (redis://, rediss:// or unix://, with a password and a database number)
    from the event loop that made it."""

    def __init__(self, url: str, timeout: float):
        self.loop = asyncio.get_running_loop()
        self.url, self.timeout = urlsplit(url), timeout
        self._connection: _Connection | None = None
        self._connecting: asyncio.Future | None = None
        self._batches: dict[BatchScript, list[tuple[list[str], asyncio.Future]]] = {}  # the calls waiting
        self._due = False  # the batches go after this turn
        self._timer: asyncio.TimerHandle | None = None  # or then, when only deferred calls wait

    async def call(self, *args):
        """A command of text and numbers."""
        connection = self._connection
        if connection is None or connection.lost:
            connection = await self._connect()
        return await self._send(connection, _pack([arg if type(arg) is str else repr(arg) for arg in args]))

    async def evalsha(self, script: Script, keys: list, args: list):
        try:
            return await self.call("EVALSHA", script.sha, len(keys), *keys, *args)
        except RedisReplyError as error:
            if not str(error).startswith("NOSCRIPT"):
                raise
            return await self.call("EVAL", script.text, len(keys), *keys, *args)

    def batched(self, script: BatchScript, args, *, deferred: bool = False) -> asyncio.Future:
        """Queue a call of the batch script; the future gets its answer's line. `args` (text) may be a
        function returning them when the batch goes. A deferred call is one nobody waits
        for: it goes at once if no call is in flight (Redis is idle, and the next waited call does not wait
        for its work), else with the next call that somebody waits for, or after DEFER_DELAY seconds."""
        future = self.loop.create_future()
        if not deferred or self._connection is not None and not self._connection.waiting:
            if not self._due:
                self._due = True
                self.loop.call_soon(self._batches_send)
        elif not self._due and self._timer is None:
            self._timer = self.loop.call_later(DEFER_DELAY, self._batches_send)
        self._batches.setdefault(script, []).append((args, future))
        return future

    def _batches_send(self):
        """One EVALSHA per script for the calls waiting, written at once when the connection is up."""
        if self._timer is not None:
            self._timer.cancel()
        batches, self._batches, self._due, self._timer = self._batches, {}, False, None
        connection = self._connection
        for script, calls in batches.items():
            args = []
            for call_args, _ in calls:
                call_args = call_args() if callable(call_args) else call_args
                args += (str(len(call_args)), *call_args)
            if connection is None or connection.lost:
                answer = self.loop.create_task(self.evalsha(script, [], args))
            else:
                answer = self._send(connection, _pack(("EVALSHA", script.sha, "0", *args)))
            answer.add_done_callback(partial(self._batch_answered, script, args, calls))
        if connection is not None:
            connection.flush()

    def _batch_answered(self, script: BatchScript | None, args: list[str], calls, answer: asyncio.Future):
        if answer.cancelled():
            error = ConnectionError("Redis call cancelled")
        elif (error := answer.exception()) is None:
            lines = answer.result().split(b"\n")
            if len(lines) == len(calls):
                for (_, future), line in zip(calls, lines):
                    if not future.done():
                        future.set_result(line)
                return
            error = RedisReplyError(f"The script answered {len(lines)} lines for {len(calls)} calls")
        elif script is not None and str(error).startswith("NOSCRIPT"):  # sent by SHA1 to a Redis that lacks it
            retry = self.loop.create_task(self.call("EVAL", script.text, 0, *args))
            retry.add_done_callback(partial(self._batch_answered, None, args, calls))
            return
        for _, future in calls:
            if not future.done():
                future.set_exception(error)

    def _send(self, connection: _Connection, command: bytes) -> asyncio.Future:
        """Queue the command; the calls of one turn of the loop go out in one write (one system call)."""
        future = self.loop.create_future()
        connection.waiting.append(future)
        if not connection.unsent:
            self.loop.call_soon(connection.flush)
        connection.unsent.append(command)
        timer = self.loop.call_later(self.timeout, self._expire, connection, future)
        future.add_done_callback(lambda _: timer.cancel())
        return future

    def _expire(self, connection: _Connection, future: asyncio.Future):
        if not future.done():
            connection.close(TimeoutError("Redis did not answer in time"))

    async def _connect(self) -> _Connection:
        """The loop's connection, made (once, however many calls wait for it) with its AUTH and SELECT."""
        if self._connecting is None:
            self._connecting = self.loop.create_task(self._open())
        try:
            return await asyncio.shield(self._connecting)
        finally:
            if self._connecting is not None and self._connecting.done():
                self._connecting = None

    async def _open(self) -> _Connection:
        url = self.url
        query = parse_qs(url.query)
        async with asyncio.timeout(self.timeout):
            if url.scheme == "unix":
                _, connection = await self.loop.create_unix_connection(_Connection, unquote(url.path))
                database = int(query.get("db", ["0"])[0])
            else:
                secure = url.scheme == "rediss"
                _, connection = await self.loop.create_connection(
                    _Connection, url.hostname or "127.0.0.1", url.port or 6379,
                    ssl=ssl.create_default_context() if secure else None,
                )
                database = int(url.path.strip("/") or query.get("db", ["0"])[0])
            setup = []
            if url.password:
                setup.append(self._send(connection, _pack(
                    ["AUTH", *([unquote(url.username)] if url.username else []), unquote(url.password)])))
            if database:
                setup.append(self._send(connection, _pack(["SELECT", str(database)])))
            for reply in setup:
                await reply
        self._connection = connection
        return connection

    def close(self):
        if self._connection is not None:
            self._connection.close(ConnectionError("closed"))


_wires: dict[tuple[asyncio.AbstractEventLoop, str], RedisWire] = {}


def wire_for(url: str, timeout: float) -> RedisWire:
    """The running loop's connection to `url`, shared by every caller on the hot path (the counters and
    the deployments), so that the calls of a turn share its batches and its write."""
    loop = asyncio.get_running_loop()
    wire = _wires.get((loop, url))
    if wire is None or wire.timeout != timeout:
        wire = _wires[(loop, url)] = RedisWire(url, timeout)
    return wire
