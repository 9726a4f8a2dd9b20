"""Shared counters for rate limits and budgets: in-process by default, Redis when REDIS_URL is set.

`add()` adds to several counters at once, atomically, unless that would take one of them over its
limit; then it adds to none. It returns the counters' values, to report what remains. `settle()`
adds without a limit and without waiting: corrections (a reservation replaced by the real usage),
which nobody waits for. Any Redis failure raises CountersUnavailable.

With Redis, one script call carries every change waiting in the process: at most one call is out at
a time, and the `add()`s and `settle()`s made meanwhile go together in the next, each group still
all-or-nothing on its own (so any number of Prism processes share one exact limit). A request's
settlement thus rides in the next request's call instead of costing a round trip; one no request
follows is sent after SETTLE_DELAY. Under load, the requests of a moment share one round trip.

How a plugin counts (limits.py, and any other counter user such as a budget): build its `Counter`s,
`await counters().add(them)` before calling the next plugin, and put its corrections in a finisher
through `counters().settle(...)`. Adds made in the same turn of the event loop share a script call:
`add()` queues at once and returns an awaitable, so a plugin that checks two kinds of counters (say
token limits and a dollar budget) starts both `add()`s and then awaits them, for one round trip.
"""

import asyncio
import logging
import time

import redis.asyncio as redis
from django.conf import settings
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# ARGV holds, for each group, its size n and then n (amount, limit, ttl); KEYS the groups' keys in order.
# Returns, for each group, the 1-based index of the counter refused (0: none) and then its n values.
ADD_SCRIPT = """
local out, k, a = {}, 0, 1
while a <= #ARGV do
  local n, refused, values = tonumber(ARGV[a]), 0, {}
  for i = 1, n do
    local key, amount, limit = KEYS[k + i], tonumber(ARGV[a + 3*i - 2]), tonumber(ARGV[a + 3*i - 1])
    local value = redis.call('INCRBY', key, amount)
    if redis.call('TTL', key) < 0 then redis.call('EXPIRE', key, tonumber(ARGV[a + 3*i])) end
    values[i] = value
    if limit >= 0 and amount > 0 and value > limit then
      refused = i
      for j = 1, i do values[j] = redis.call('DECRBY', KEYS[k + j], tonumber(ARGV[a + 3*j - 2])) end
      for j = i + 1, n do values[j] = tonumber(redis.call('GET', KEYS[k + j]) or 0) end
      break
    end
  end
  out[#out + 1] = refused
  for i = 1, n do out[#out + 1] = values[i] end
  k, a = k + n, a + 1 + 3*n
end
return out
"""
# A settlement that no request follows waits this long for company, in seconds.
SETTLE_DELAY = 0.05


class Counter:
    """One counter change: add `amount` to `key` unless it would pass `limit` (None: no limit)."""

    __slots__ = ("key", "amount", "limit", "ttl")

    def __init__(self, key: str, amount: int, limit: int | None, ttl: int):
        self.key, self.amount, self.limit, self.ttl = key, amount, limit, ttl


class CountersUnavailable(Exception):
    """The counters cannot be read or changed now (Redis is unreachable, too slow or out of connections)."""


class LocalCounters:
    # Expired windows are deleted every this many seconds, so counters of past minutes do not pile up.
    SWEEP_INTERVAL = 60

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self._values: dict[str, tuple[int, float]] = {}
        self._next_sweep = clock() + self.SWEEP_INTERVAL

    def __len__(self):
        return len(self._values)

    async def add(self, counters: list[Counter]) -> tuple[int, list[int]]:
        """Return (0, values after adding) if all were added, else (1-based index of the refused one, values)."""
        return self._add(counters)

    def settle(self, counters: list[Counter]) -> None:
        self._add(counters)

    def _add(self, counters: list[Counter]) -> tuple[int, list[int]]:
        now = self.clock()
        if now >= self._next_sweep:
            self._sweep(now)
        current = [self._get(c.key, now) for c in counters]
        for index, (counter, value) in enumerate(zip(counters, current)):
            if counter.limit is not None and counter.amount > 0 and value + counter.amount > counter.limit:
                return index + 1, current
        for counter, value in zip(counters, current):
            expires = self._values.get(counter.key, (0, now + counter.ttl))[1]
            self._values[counter.key] = (value + counter.amount, expires)
        return 0, [value + counter.amount for counter, value in zip(counters, current)]

    async def set_default(self, key: str, value: int, ttl: int) -> None:
        now = self.clock()
        self._get(key, now)
        self._values.setdefault(key, (value, now + ttl))

    def _get(self, key, now) -> int:
        value, expires = self._values.get(key, (0, 0.0))
        if key in self._values and expires <= now:
            del self._values[key]
            return 0
        return value

    def _sweep(self, now):
        self._values = {key: entry for key, entry in self._values.items() if entry[1] > now}
        self._next_sweep = now + self.SWEEP_INTERVAL


# Every way a Redis call can fail: redis-py's errors (connection, timeout, no free connection in the
# pool), the OS's, and the RuntimeError uvloop raises on a transport that Redis closed.
REDIS_FAILURES = (RedisError, OSError, RuntimeError)


class _Link:
    """One event loop's client and the changes waiting for its next script call."""

    def __init__(self, url: str):
        timeout = settings.PRISM_REDIS_TIMEOUT
        pool = redis.BlockingConnectionPool.from_url(
            url, max_connections=settings.PRISM_REDIS_MAX_CONNECTIONS, timeout=timeout,
            socket_connect_timeout=timeout, socket_timeout=timeout, retry=Retry(NoBackoff(), 1),
        )
        self.client = redis.Redis(connection_pool=pool)
        self.script = self.client.register_script(ADD_SCRIPT)
        self.waiting: list[tuple[list[Counter], asyncio.Future | None]] = []  # None: a settlement
        self.sender: asyncio.Task | None = None
        self.timer: asyncio.TimerHandle | None = None

    def queue(self, counters: list[Counter], future: asyncio.Future | None) -> None:
        self.waiting.append((counters, future))
        if future is not None:
            self.send_soon()
        elif self.timer is None and self.sender is None:
            self.timer = asyncio.get_running_loop().call_later(SETTLE_DELAY, self.send_soon)

    def send_soon(self) -> None:
        """Send after this turn of the loop (so that its other changes join), or after the call that is out."""
        if self.sender is None:
            self.sender = asyncio.get_running_loop().create_task(self._send())

    async def _send(self):
        try:
            while self.waiting:
                if self.timer is not None:
                    self.timer.cancel()
                    self.timer = None
                batch, self.waiting = self.waiting, []
                await self._call(batch)
        finally:
            self.sender = None

    async def _call(self, batch):
        keys, args = [], []
        for counters, _ in batch:
            keys += [c.key for c in counters]
            args.append(len(counters))
            args += [part for c in counters for part in (c.amount, -1 if c.limit is None else c.limit, c.ttl)]
        try:
            out = await self.script(keys=keys, args=args)
        except REDIS_FAILURES as failure:
            error = CountersUnavailable(f"Redis failed: {type(failure).__name__}")
            error.__cause__ = failure
            for counters, future in batch:
                if future is None:
                    logger.warning("Could not settle %d counters: %s", len(counters), error)
                elif not future.done():
                    future.set_exception(error)
            return
        at = 0
        for counters, future in batch:
            if future is not None and not future.done():
                future.set_result((int(out[at]), [int(value) for value in out[at + 1: at + 1 + len(counters)]]))
            at += 1 + len(counters)


class RedisCounters:
    def __init__(self, url: str):
        self.url = url
        self._links = {}

    def link(self) -> _Link:
        """The running event loop's link, with a connection pool of its own (the tests run several loops).

        A burst above PRISM_REDIS_MAX_CONNECTIONS waits for a free connection (up to PRISM_REDIS_TIMEOUT)
        rather than failing; the same timeout bounds connecting and every command. A command on a connection
        that Redis dropped (idle in the pool through an outage) is tried once more, on a new connection.
        """
        loop = asyncio.get_running_loop()
        if loop not in self._links:
            self._links[loop] = _Link(self.url)
        return self._links[loop]

    async def add(self, counters: list[Counter]) -> tuple[int, list[int]]:
        future = asyncio.get_running_loop().create_future()
        self.link().queue(counters, future)
        return await future

    def settle(self, counters: list[Counter]) -> None:
        self.link().queue(counters, None)

    async def set_default(self, key: str, value: int, ttl: int) -> None:
        try:
            await self.link().client.set(key, value, ex=ttl, nx=True)
        except REDIS_FAILURES as failure:
            raise CountersUnavailable(f"Redis failed: {type(failure).__name__}") from failure


_counters = {}


def counters() -> LocalCounters | RedisCounters:
    url = settings.REDIS_URL
    if url not in _counters:
        _counters[url] = RedisCounters(url) if url else LocalCounters()
    return _counters[url]
