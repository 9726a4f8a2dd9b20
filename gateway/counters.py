"""Shared counters for rate limits and budgets: in-process by default, Redis when REDIS_URL is set.

`add()` adds to several counters at once, atomically, unless that would take one of them over its
limit; then it adds to none. It returns the counters' values, to report what remains. With Redis a Lua
script does this in one round trip, so any number of Prism processes share one exact limit. Any Redis
failure raises CountersUnavailable.
"""

import asyncio
import functools
import time

import redis.asyncio as redis
from django.conf import settings
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

ADD_SCRIPT = """
local values = {}
for i, key in ipairs(KEYS) do
  local amount, limit, ttl = tonumber(ARGV[3*i-2]), tonumber(ARGV[3*i-1]), tonumber(ARGV[3*i])
  local value = redis.call('INCRBY', key, amount)
  if redis.call('TTL', key) < 0 then redis.call('EXPIRE', key, ttl) end
  values[i] = value
  if limit >= 0 and amount > 0 and value > limit then
    for j = 1, i do
      redis.call('DECRBY', KEYS[j], tonumber(ARGV[3*j-2]))
      values[j] = values[j] - tonumber(ARGV[3*j-2])
    end
    return {i, unpack(values)}
  end
end
return {0, unpack(values)}
"""


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


def _redis_call(method):
    """Make every way a Redis call can fail one CountersUnavailable: redis-py's errors (connection, timeout, no
    free connection in the pool), the OS's, and the RuntimeError uvloop raises on a transport that Redis closed."""

    @functools.wraps(method)
    async def call(*args, **kwargs):
        try:
            return await method(*args, **kwargs)
        except (RedisError, OSError, RuntimeError) as failure:
            raise CountersUnavailable(f"Redis failed: {type(failure).__name__}") from failure

    return call


class RedisCounters:
    def __init__(self, url: str):
        self.url = url
        self._clients = {}

    def client(self):
        """(client, add script) with one connection pool per event loop (the tests run several loops).

        A burst above PRISM_REDIS_MAX_CONNECTIONS waits for a free connection (up to PRISM_REDIS_TIMEOUT)
        rather than failing; the same timeout bounds connecting and every command. A command on a connection
        that Redis dropped (idle in the pool through an outage) is tried once more, on a new connection.
        """
        loop = asyncio.get_running_loop()
        if loop not in self._clients:
            timeout = settings.PRISM_REDIS_TIMEOUT
            pool = redis.BlockingConnectionPool.from_url(
                self.url, max_connections=settings.PRISM_REDIS_MAX_CONNECTIONS, timeout=timeout,
                socket_connect_timeout=timeout, socket_timeout=timeout, retry=Retry(NoBackoff(), 1),
            )
            client = redis.Redis(connection_pool=pool)
            self._clients[loop] = (client, client.register_script(ADD_SCRIPT))
        return self._clients[loop]

    @_redis_call
    async def add(self, counters: list[Counter]) -> tuple[int, list[int]]:
        client, script = self.client()
        args = [part for c in counters for part in (c.amount, -1 if c.limit is None else c.limit, c.ttl)]
        refused, *values = await script(keys=[c.key for c in counters], args=args)
        return int(refused), [int(value) for value in values]

    @_redis_call
    async def set_default(self, key: str, value: int, ttl: int) -> None:
        client, _ = self.client()
        await client.set(key, value, ex=ttl, nx=True)


_counters = {}


def counters() -> LocalCounters | RedisCounters:
    url = settings.REDIS_URL
    if url not in _counters:
        _counters[url] = RedisCounters(url) if url else LocalCounters()
    return _counters[url]
