"""The deployments' state in Redis, shared by every Prism process (with REDIS_URL), and the choice of state.

Choosing a deployment and taking its slot is one Lua script call, and so is reporting the outcome, so
replicas never overrun a capacity together and a deployment taken out by one is out for all. Both go in
the batches of the loop's connection with the counters' calls (gateway/redis_wire.py): the choice is
queued at once, to go with the request's counters; the report of a call at the end of a request is
deferred (gateway/redis_wire.py says when it goes). While Redis cannot be reached, the process's own
state stands in.
"""

import asyncio
import logging
import time
from collections.abc import Awaitable

import redis.asyncio as redis
from django.conf import settings

from gateway.redis_wire import BatchScript, RedisReplyError, RedisWire, wire_for
from gateway.shared_stores import by_redis_url

from .state import LATENCY_WEIGHT, Acquired, Health, LocalState, Outcome, cooldown_of, minute_of

logger = logging.getLogger(__name__)

COUNTER_TTL = 120  # seconds a minute's capacity counter is kept

# Each script takes the calls of a turn of the loop at once (gateway/redis_wire.py BatchScript). A
# deployment's keys are its base key and base..':in_flight', base..':rpm:'..minute, base..':tpm:'..minute.
KEYS_LUA = """
local function keys_of(base, minute)
  return base, base .. ':in_flight', base .. ':rpm:' .. minute, base .. ':tpm:' .. minute
end
"""

# A call: "now mode lease lease_until probe_until counter_ttl minute", then "rpm tpm base" per candidate
# (-1: no limit). Its answer: "best probe soonest", best the 1-based index chosen (0: none).
ACQUIRE = BatchScript(KEYS_LUA + """
local function call(first, n)
  local now, mode, lease, lease_until, probe_until, ttl, minute = unpack(ARGV, first, first + 6)
  now, lease_until = tonumber(now), tonumber(lease_until)
  local best, best_score, best_probe, best_rpm, soonest, chosen = 0, 0, 0, -1, -1, {}
  for i = 1, (n - 7) / 3 do
    local at = first + 7 + 3 * (i - 1)  -- after the call's seven first arguments
    local rpm, tpm, base = tonumber(ARGV[at]), tonumber(ARGV[at + 1]), ARGV[at + 2]
    local state, in_flight, rpm_key, tpm_key = keys_of(base, minute)
    local s = redis.call('HMGET', state, 'open_until', 'probe_until', 'latency', 'ttft')
    local open_until, probe, usable = tonumber(s[1]) or 0, 0, true
    if open_until > now then
      usable = false
      if soonest < 0 or open_until < soonest then soonest = open_until end
    elseif open_until > 0 then
      if (tonumber(s[2]) or 0) > now then usable = false else probe = 1 end
    end
    local left = 1
    for j, limit in ipairs({rpm, tpm}) do
      if usable and limit >= 0 then
        local used = tonumber(redis.call('GET', j == 1 and rpm_key or tpm_key)) or 0
        if used >= limit then usable = false elseif limit > 0 then left = math.min(left, (limit - used) / limit) end
      end
    end
    if usable then
      local score = i
      if mode == 'least-busy' then
        redis.call('ZREMRANGEBYSCORE', in_flight, '-inf', now)
        score = redis.call('ZCARD', in_flight)
      elseif mode == 'lowest-latency' then score = tonumber(s[3]) or 0
      elseif mode == 'lowest-ttft' then score = tonumber(s[4]) or 0
      elseif mode == 'capacity' then score = -left end
      if best == 0 or score < best_score then
        best, best_score, best_probe, best_rpm = i, score, probe, rpm
        chosen = {state, in_flight, rpm_key}
      end
      if mode == 'first' then break end
    end
  end
  if best == 0 then return '0 0 ' .. string.format('%.6f', soonest) end
  redis.call('ZADD', chosen[2], lease_until, lease)
  redis.call('EXPIRE', chosen[2], 3600)
  if best_probe == 1 then redis.call('HSET', chosen[1], 'probe_until', probe_until) end
  if best_rpm >= 0 then
    redis.call('INCR', chosen[3])
    redis.call('EXPIRE', chosen[3], ttl)
  end
  return best .. ' ' .. best_probe .. ' 0'
end
""")

# A call: "now lease failed probe latency ttft tokens failures window cooldown weight forced counter_ttl
# minute base" (ttft -1: none). Its answer: 1 if the circuit opened, 2 if a probe closed it, else 0.
RELEASE = BatchScript(KEYS_LUA + """
local function call(first, n)
  local f = {unpack(ARGV, first, first + 14)}
  local now, lease, failed, probe = tonumber(f[1]), f[2], f[3] == '1', f[4] == '1'
  local state, in_flight, _, tpm_key = keys_of(f[15], f[14])
  redis.call('ZREM', in_flight, lease)
  local tokens = tonumber(f[7])
  if tokens > 0 then
    redis.call('INCRBY', tpm_key, tokens)
    redis.call('EXPIRE', tpm_key, f[13])
  end
  redis.call('HINCRBY', state, 'requests', 1)
  if not failed then
    for j, name in ipairs({'latency', 'ttft'}) do
      local sample = tonumber(f[4 + j])
      if sample >= 0 then
        local average = tonumber(redis.call('HGET', state, name))
        redis.call('HSET', state, name, average and average + tonumber(f[11]) * (sample - average) or sample)
      end
    end
    if probe then
      redis.call('HDEL', state, 'open_until', 'probe_until', 'fails', 'window_start')
      return '2'
    end
    return '0'
  end
  redis.call('HINCRBY', state, 'errors', 1)
  local cooldown, forced = tonumber(f[10]), f[12] == '1'
  local open_until = tonumber(redis.call('HGET', state, 'open_until')) or 0
  local open = probe or (forced and open_until <= now)
  if not open then
    local start, fails = tonumber(redis.call('HGET', state, 'window_start')) or 0, 0
    if now - start <= tonumber(f[9]) then fails = tonumber(redis.call('HGET', state, 'fails')) or 0
    else redis.call('HSET', state, 'window_start', now) end
    fails = fails + 1
    redis.call('HSET', state, 'fails', fails)
    open = fails >= tonumber(f[8]) and open_until <= now
  end
  if open then
    redis.call('HSET', state, 'open_until', now + cooldown, 'probe_until', 0, 'fails', 0)
    return '1'
  end
  return '0'
end
""")

# A call: "lease probe counted minute base": the lease given back, its probe undone, and its minute's
# request uncounted (counted: 1 when the deployment has a requests-per-minute capacity).
UNLEASE = BatchScript(KEYS_LUA + """
local function call(first, n)
  local lease, probe, counted, minute, base = unpack(ARGV, first, first + 4)
  local state, in_flight, rpm_key = keys_of(base, minute)
  redis.call('ZREM', in_flight, lease)
  if probe == '1' then redis.call('HSET', state, 'probe_until', 0) end
  if counted == '1' and redis.call('EXISTS', rpm_key) == 1 then redis.call('DECR', rpm_key) end
  return '0'
end
""")
def _limit(capacity: int | None) -> str:
    return "-1" if capacity is None else str(capacity)


# How a call on the hot path's connection fails (gateway/redis_wire.py), and redis-py's, for the snapshot.
FAILURES = (RedisReplyError, OSError, RuntimeError, redis.RedisError)


class RedisState:
    """The same state, in Redis, shared by every process; while Redis cannot be reached, the process's own."""

    def __init__(self, url: str, clock=time.time):
        self.url, self.clock = url, clock
        self._clients = {}
        self.fallback = LocalState(clock)
        self.degraded = False  # Redis failed last time: said once in the log

    def client(self) -> tuple[RedisWire, redis.Redis]:
        """The event loop's pipelined connection for each request's calls, and a redis-py client for the
        health snapshot's pipeline; one pair per event loop (tests run several)."""
        loop = asyncio.get_running_loop()
        if loop not in self._clients:
            self._clients[loop] = (wire_for(self.url, settings.PRISM_REDIS_TIMEOUT), redis.Redis.from_url(self.url))
        return self._clients[loop]

    @staticmethod
    def _base(deployment) -> str:
        return f"{settings.PRISM_COUNTER_PREFIX}:deployment:{deployment.key}"

    def _keys(self, deployment, minute: int) -> list[str]:
        """Its keys, as KEYS_LUA makes them."""
        base = self._base(deployment)
        return [base, f"{base}:in_flight", f"{base}:rpm:{minute}", f"{base}:tpm:{minute}"]

    def acquire(self, candidates, *, mode: str, lease: str, lease_for: float) -> Awaitable[Acquired]:
        """Queued at once, so that it goes with the other calls of this turn (the request's counters)."""
        now = self.clock()
        wire, _ = self.client()
        until = repr(now + lease_for)
        args = [repr(now), mode, lease, until, until, str(COUNTER_TTL), str(minute_of(now))]
        for d in candidates:
            args += (_limit(d.rpm), _limit(d.tpm), self._base(d))
        return self._acquired(wire.batched(ACQUIRE, args), candidates, mode=mode, lease=lease, lease_for=lease_for)

    async def _acquired(self, answer: asyncio.Future, candidates, **how) -> Acquired:
        try:
            index, probe, soonest = (await answer).split()
        except FAILURES:
            if not self.degraded:
                logger.warning("Redis is unreachable: deployments are chosen by this process's own state")
            self.degraded = True
            return await self.fallback.acquire(candidates, **how)
        self.degraded = False
        if index == b"0":
            return Acquired(None, retry_at=float(soonest) if float(soonest) > 0 else None)
        return Acquired(int(index) - 1, probe == b"1")

    async def unlease(self, deployment, *, lease: str, probe: bool) -> None:
        wire, _ = self.client()
        counted = int(deployment.rpm is not None)
        args = [lease, str(int(probe)), str(counted), str(minute_of(self.clock())), self._base(deployment)]
        try:
            await wire.batched(UNLEASE, args)
        except FAILURES:
            await self.fallback.unlease(deployment, lease=lease, probe=probe)

    async def release(self, deployment, *, lease: str, probe: bool, outcome: Outcome, deferred=False) -> int:
        now = self.clock()
        wire, _ = self.client()
        cooldown, forced = cooldown_of(outcome)
        tokens = outcome.tokens if deployment.tpm is not None else 0
        ttft = -1 if outcome.ttft is None else outcome.ttft
        args = [repr(now), lease, str(int(outcome.failed)), str(int(probe)), repr(outcome.latency), repr(ttft),
                str(tokens), str(settings.PRISM_DEPLOYMENT_FAILURES), repr(settings.PRISM_DEPLOYMENT_FAILURE_WINDOW),
                repr(cooldown), repr(LATENCY_WEIGHT), str(int(forced)), str(COUNTER_TTL), str(minute_of(now)),
                self._base(deployment)]
        try:
            return int(await wire.batched(RELEASE, args, deferred=deferred))
        except FAILURES:
            return await self.fallback.release(deployment, lease=lease, probe=probe, outcome=outcome)

    async def snapshot(self, deployments) -> list[tuple[Health, int]]:
        now = self.clock()
        _, client = self.client()
        try:
            async with client.pipeline(transaction=False) as pipe:
                for deployment in deployments:
                    base, in_flight, rpm, _ = self._keys(deployment, minute_of(now))
                    pipe.hgetall(base).zrangebyscore(in_flight, now, "+inf", withscores=True).get(rpm)
                answers = await pipe.execute()
        except redis.RedisError:
            return await self.fallback.snapshot(deployments)
        found = []
        for index in range(len(deployments)):
            fields, leases, rpm = answers[3 * index: 3 * index + 3]
            fields = {name.decode(): float(value) for name, value in fields.items()}
            health = Health(**{name: fields.get(name, default) for name, default in (
                ("open_until", 0.0), ("probe_until", 0.0), ("fails", 0), ("window_start", 0.0), ("latency", None),
                ("ttft", None), ("requests", 0), ("errors", 0))})
            health.in_flight = {lease: until for lease, until in leases}
            found.append((health, int(rpm or 0)))
        return found


deployment_state = by_redis_url(RedisState, LocalState)
