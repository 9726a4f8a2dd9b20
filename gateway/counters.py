"""Shared counters for rate limits and budgets: in-process by default, Redis when REDIS_URL is set.

`add()` adds to several counters at once, atomically, unless that would take one of them over its
limit; then it adds to none. It returns at once a future of the counters' values (to report what
remains), already on its way: await it when the answer is needed. `settle()` adds without a limit and
without waiting: corrections (a reservation replaced by the real usage), which nobody waits for; a
`then` callback gets the counters' values once the correction is made. Any Redis failure raises
CountersUnavailable.

With Redis, one script call carries every change the process makes in a turn of its event loop, each
group still all-or-nothing on its own (so any number of Prism processes share one exact limit); the
batch goes as one text argument and comes back as one, on the loop's pipelined connection
(gateway/redis_wire.py). Settlements wait for the next call instead of costing one of their own, summed by counter
(one that no request follows is sent after SETTLE_DELAY): a request costs one round trip, and under
load the requests of a moment share it.

How a plugin counts (limits.py, budgets.py): build its `Counter`s, start `counters().add(them)` and
hand a check that awaits the answer to `context.checks`; the pipeline awaits the checks just before
the provider call, so the adds of every plugin of the request share one script call. Settle in a
finisher with `counters().settle(corrections)`.
"""

import asyncio
import logging
import time
from collections.abc import Callable

from django.conf import settings

from .redis_wire import RedisReplyError, RedisWire, Script
from .shared_stores import by_redis_url

logger = logging.getLogger(__name__)

# ARGV[1] is the batch as text, for Python to pack and Redis to parse cheaply: for each group a line with
# its size n, then n lines "key amount limit ttl" (limit -1: none). The answer has a line per group: the
# 1-based index of the counter refused (0: none), then its n values. Keys are not declared in KEYS (the
# counters need a single Redis, not a cluster). A counter whose value is the amount just added is new (or
# was 0): it gets its time to live then, so that no counter lives for ever.
ADD_SCRIPT = """
local lines, out, at = {}, {}, 1
for line in string.gmatch(ARGV[1], '[^\\n]+') do lines[#lines + 1] = line end
while at <= #lines do
  local n, refused, keys, amounts, limits, ttls, values = tonumber(lines[at]), 0, {}, {}, {}, {}, {}
  for i = 1, n do
    keys[i], amounts[i], limits[i], ttls[i] = string.match(lines[at + i], '^(.*) (%-?%d+) (%-?%d+) (%d+)$')
  end
  for i = 1, n do
    values[i] = redis.call('INCRBY', keys[i], amounts[i])
    if values[i] == tonumber(amounts[i]) then redis.call('EXPIRE', keys[i], ttls[i]) end
    if tonumber(limits[i]) >= 0 and tonumber(amounts[i]) > 0 and values[i] > tonumber(limits[i]) then
      refused = i
      for j = 1, i do values[j] = redis.call('DECRBY', keys[j], amounts[j]) end
      for j = i + 1, n do values[j] = tonumber(redis.call('GET', keys[j]) or 0) end
      break
    end
  end
  for i = 1, n do values[i] = string.format('%d', values[i]) end
  out[#out + 1] = refused .. ' ' .. table.concat(values, ' ')
  at = at + 1 + n
end
return table.concat(out, '\\n')
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
ADD = Script(ADD_SCRIPT)


class _Link:
    """One event loop's client and the changes waiting for its next script call."""

    def __init__(self, url: str):
        self.wire = RedisWire(url, settings.PRISM_REDIS_TIMEOUT)
        self.waiting: list[tuple[list[Counter], asyncio.Future | None, Callable | None]] = []  # None: a settlement
        self.scheduled = False  # a send is due after this turn
        self.timer: asyncio.TimerHandle | None = None

    def queue(self, counters: list[Counter], future: asyncio.Future | None, then=None) -> None:
        self.waiting.append((counters, future, then))
        if future is not None:
            self.send_soon()
        elif self.timer is None and not self.scheduled:
            self.timer = asyncio.get_running_loop().call_later(SETTLE_DELAY, self.send_soon)

    def send_soon(self) -> None:
        """Send what waits after this turn of the loop, so that the turn's other changes join it."""
        if not self.scheduled:
            self.scheduled = True
            asyncio.get_running_loop().create_task(self._send())

    async def _send(self):
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        batch, self.waiting, self.scheduled = self.waiting, [], False
        await self._call(batch)

    async def _call(self, batch):
        """One script call for the batch: the settlements first, summed by counter, then each add."""
        settled, adds, thens = {}, [], []
        for counters, future, then in batch:
            if future is not None:
                adds.append((counters, future))
                continue
            for c in counters:
                settled[c.key] = (settled.get(c.key, (0,))[0] + c.amount, c.ttl)
            if then is not None:
                thens.append(([c.key for c in counters], then))
        groups = [[Counter(key, amount, None, ttl) for key, (amount, ttl) in settled.items()]] + \
            [counters for counters, _ in adds]
        lines = []
        for counters in groups:
            lines.append(str(len(counters)))
            lines += [f"{c.key} {c.amount} {-1 if c.limit is None else c.limit} {c.ttl}" for c in counters]
        try:
            answer = (await self.wire.evalsha(ADD, [], ["\n".join(lines)])).split(b"\n")
        except REDIS_FAILURES as failure:
            error = CountersUnavailable(f"Redis failed: {type(failure).__name__}")
            error.__cause__ = failure
            if settled:
                logger.warning("Could not settle %d counters: %s", len(settled), error)
            for _, future in adds:
                if not future.done():
                    future.set_exception(error)
            return
        for (_, future), line in zip(adds, answer[1:]):
            if not future.done():
                refused, *values = map(int, line.split())
                future.set_result((refused, values))
        if thens:
            values = dict(zip(settled, map(int, answer[0].split()[1:])))
            for keys, then in thens:
                then([values[key] for key in keys])


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
        future = asyncio.get_running_loop().create_future()
        self.link().queue(counters, future)
        return future

    def settle(self, counters: list[Counter], then=None) -> None:
        self.link().queue(counters, None, then)

    async def set_default(self, key: str, value: int, ttl: int) -> None:
        try:
            await self.link().wire.call("SET", key, value, "EX", ttl, "NX")
        except REDIS_FAILURES as failure:
            raise CountersUnavailable(f"Redis failed: {type(failure).__name__}") from failure


counters = by_redis_url(RedisCounters, LocalCounters)
