"""Shared counters for rate limits and budgets: in-process by default, Redis when REDIS_URL is set.

`add()` adds to several counters at once, atomically, unless that would take one of them over its
limit; then it adds to none. It returns at once a future of the counters' values (to report what
remains), already on its way: await it when the answer is needed. `settle()` adds without a limit and
without waiting: corrections (a reservation replaced by the real usage), which nobody waits for; a
`then` callback gets the counters' values once the correction is made. Any Redis failure raises
CountersUnavailable.

With Redis, the changes a process makes in a turn of its event loop go as one script call (a
`BatchScript`, on the loop's pipelined connection: gateway/redis_wire.py), each group still
all-or-nothing on its own, so any number of Prism processes share one exact limit. Settlements are
deferred calls, summed by counter: they go at once to an idle Redis, else with the next call somebody
waits for (or after the wire's DEFER_DELAY), so a request waits for one round trip, and under load the
requests of a moment share it.

How a plugin counts (limits.py, budgets.py): build its `Counter`s, start `counters().add(them)` and
hand a check that awaits the answer to `context.checks`; the pipeline awaits the checks just before
the provider call, so the adds of every plugin of the request share one script call. Settle in a
finisher with `counters().settle(corrections)`.
"""

import asyncio
import logging
import time
from collections.abc import Callable
from functools import partial

from django.conf import settings

from .redis_wire import BatchScript, RedisReplyError, wire_for
from .shared_stores import by_redis_url

logger = logging.getLogger(__name__)

# One call is a group: four arguments per counter, "key amount limit ttl" (limit -1: none); its answer, the
# 1-based index of the counter refused (0: none), then the counters' values. Keys are not declared in KEYS
# (the counters need a single Redis, not a cluster). A counter whose value is the amount just added is new
# (or was 0): it gets its time to live then, so that no counter lives for ever.
ADD = BatchScript("""
local function call(first, n)
  local refused, values, last = 0, {}, n / 4
  local function at(i) return first + 4 * (i - 1) end  -- where counter i's key is; its amount, limit, ttl follow
  for i = 1, last do
    local amount, limit = tonumber(ARGV[at(i) + 1]), tonumber(ARGV[at(i) + 2])
    values[i] = redis.call('INCRBY', ARGV[at(i)], amount)
    if values[i] == amount then redis.call('EXPIRE', ARGV[at(i)], ARGV[at(i) + 3]) end
    if limit >= 0 and amount > 0 and values[i] > limit then
      refused = i
      for j = 1, i do values[j] = redis.call('DECRBY', ARGV[at(j)], ARGV[at(j) + 1]) end
      for j = i + 1, last do values[j] = tonumber(redis.call('GET', ARGV[at(j)]) or 0) end
      break
    end
  end
  for i = 1, last do values[i] = string.format('%d', values[i]) end
  return refused .. ' ' .. table.concat(values, ' ')
end
""")


class Counter:
    """One counter change: add `amount` to `key` unless it would pass `limit` (None: no limit)."""

    __slots__ = ("key", "amount", "limit", "ttl")

    def __init__(self, key: str, amount: int, limit: int | None, ttl: int):
        self.key, self.amount, self.limit, self.ttl = key, amount, limit, ttl


class CountersUnavailable(Exception):
    """The counters cannot be read or changed now (Redis is unreachable, too slow or out of connections)."""


async def added(answer: asyncio.Future) -> bool:
    """Whether an add went through: not refused, and Redis answered. Only then is there a reservation to settle."""
    try:
        refused, _ = await answer
    except CountersUnavailable:
        return False
    return not refused


class LocalCounters:
    # Expired windows are deleted every this many seconds, so counters of past minutes do not pile up.
    SWEEP_INTERVAL = 60

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self._values: dict[str, tuple[int, float]] = {}
        self._next_sweep = clock() + self.SWEEP_INTERVAL

    def __len__(self):
        return len(self._values)

    def add(self, counters: list[Counter]) -> asyncio.Future:
        """(0, values after adding) if all were added, else (1-based index of the refused one, values)."""
        answer = asyncio.get_running_loop().create_future()
        answer.set_result(self._add(counters))
        return answer

    def settle(self, counters: list[Counter], then=None) -> None:
        values = self._add(counters)[1]
        if then is not None:
            then(values)

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


# Every way a Redis call can fail: an error reply, the OS's (connection, timeout), and the RuntimeError
# uvloop raises on a transport that Redis closed.
REDIS_FAILURES = (RedisReplyError, OSError, RuntimeError)


def _unavailable(failure: Exception | None) -> CountersUnavailable:
    """What a Redis failure (None: a cancelled call) is to the counters' callers."""
    unavailable = CountersUnavailable(f"Redis failed: {'cancelled' if failure is None else type(failure).__name__}")
    unavailable.__cause__ = failure
    return unavailable


def _args(counters: list[Counter]) -> list[str]:
    args = []
    for c in counters:
        args += (c.key, str(c.amount), "-1" if c.limit is None else str(c.limit), str(c.ttl))
    return args


def _values(line: bytes) -> tuple[int, list[int]]:
    refused, *values = map(int, line.split())
    return refused, values


class _Link:
    """One event loop's connection, and the settlements waiting for its next call."""

    def __init__(self, url: str):
        self.wire = wire_for(url, settings.PRISM_REDIS_TIMEOUT)
        self.settlement: _Settlement | None = None  # the one not sent yet

    def add(self, counters: list[Counter]) -> asyncio.Future:
        future = asyncio.get_running_loop().create_future()
        self.wire.batched(ADD, _args(counters)).add_done_callback(partial(_answered, future))
        return future

    def settle(self, counters: list[Counter], then) -> None:
        if self.settlement is None:
            self.settlement = _Settlement(self)
            answer = self.wire.batched(ADD, self.settlement.args, deferred=True)
            answer.add_done_callback(self.settlement.answered)
        self.settlement.join(counters, then)


class _Settlement:
    """Settlements summed by counter until their call goes (one group, no limit)."""

    def __init__(self, link: _Link):
        self.link = link
        self.settled: dict[str, tuple[int, int]] = {}  # key -> (amount, ttl)
        self.thens: list[tuple[list[str], Callable]] = []

    def join(self, counters: list[Counter], then) -> None:
        for c in counters:
            self.settled[c.key] = (self.settled.get(c.key, (0,))[0] + c.amount, c.ttl)
        if then is not None:
            self.thens.append(([c.key for c in counters], then))

    def args(self) -> list[str]:
        """Called as the batch goes: later settlements wait for the next."""
        self.link.settlement = self.link = None
        return _args([Counter(key, amount, None, ttl) for key, (amount, ttl) in self.settled.items()])

    def answered(self, answer: asyncio.Future) -> None:
        if answer.cancelled() or answer.exception() is not None:
            error = "cancelled" if answer.cancelled() else type(answer.exception()).__name__
            logger.warning("Could not settle %d counters: Redis failed: %s", len(self.settled), error)
            return
        values = dict(zip(self.settled, _values(answer.result())[1]))
        for keys, then in self.thens:
            then([values[key] for key in keys])


def _answered(future: asyncio.Future, answer: asyncio.Future) -> None:
    if future.done():
        return
    error = None if answer.cancelled() else answer.exception()
    if answer.cancelled() or isinstance(error, REDIS_FAILURES):
        future.set_exception(_unavailable(error))
    elif error is not None:
        future.set_exception(error)
    else:
        future.set_result(_values(answer.result()))


class RedisCounters:
    def __init__(self, url: str):
        self.url = url
        self._links = {}

    def link(self) -> _Link:
        """The running event loop's link, with a connection of its own (the tests run several loops).

        Calls are pipelined on that one connection; PRISM_REDIS_TIMEOUT bounds connecting and every call.
        """
        loop = asyncio.get_running_loop()
        if loop not in self._links:
            self._links[loop] = _Link(self.url)
        return self._links[loop]

    def add(self, counters: list[Counter]) -> asyncio.Future:
        return self.link().add(counters)

    def settle(self, counters: list[Counter], then=None) -> None:
        self.link().settle(counters, then)

    async def set_default(self, key: str, value: int, ttl: int) -> None:
        try:
            await self.link().wire.call("SET", key, value, "EX", ttl, "NX")
        except REDIS_FAILURES as failure:
            raise _unavailable(failure) from failure


counters = by_redis_url(RedisCounters, LocalCounters)
