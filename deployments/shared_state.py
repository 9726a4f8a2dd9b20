"""The deployments' state in Redis, shared by every Prism process (with REDIS_URL), and the choice of state.

Choosing a deployment and taking its slot is one Lua script (one round trip), and so is reporting the
outcome, so replicas never overrun a capacity together and a deployment taken out by one is out for all.
While Redis cannot be reached, the process's own state stands in.
"""

import asyncio
import logging
import time

import redis.asyncio as redis
from django.conf import settings

from gateway.redis_wire import RedisReplyError, RedisWire, Script
from gateway.shared_stores import by_redis_url

from .state import LATENCY_WEIGHT, Acquired, Health, LocalState, Outcome, cooldown_of, minute_of

logger = logging.getLogger(__name__)

COUNTER_TTL = 120  # seconds a minute's capacity counter is kept

ACQUIRE_SCRIPT = """
local now, mode, lease, lease_until, probe_until = tonumber(ARGV[1]), ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5]
local best, best_score, best_probe, soonest = 0, 0, 0, -1
for i = 1, #KEYS / 4 do
  local rpm, tpm = tonumber(ARGV[4 + 2*i]), tonumber(ARGV[5 + 2*i])
  local s = redis.call('HMGET', KEYS[4*i-3], 'open_until', 'probe_until', 'latency', 'ttft')
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
      local used = tonumber(redis.call('GET', KEYS[4*i-2+j])) or 0
      if used >= limit then usable = false elseif limit > 0 then left = math.min(left, (limit - used) / limit) end
    end
  end
  if usable then
    local score = i
    if mode == 'least-busy' then
      redis.call('ZREMRANGEBYSCORE', KEYS[4*i-2], '-inf', now)
      score = redis.call('ZCARD', KEYS[4*i-2])
    elseif mode == 'lowest-latency' then score = tonumber(s[3]) or 0
    elseif mode == 'lowest-ttft' then score = tonumber(s[4]) or 0
    elseif mode == 'capacity' then score = -left end
    if best == 0 or score < best_score then best, best_score, best_probe = i, score, probe end
    if mode == 'first' then break end
  end
end
if best == 0 then return {0, 0, tostring(soonest)} end
redis.call('ZADD', KEYS[4*best-2], lease_until, lease)
redis.call('EXPIRE', KEYS[4*best-2], 3600)
if best_probe == 1 then redis.call('HSET', KEYS[4*best-3], 'probe_until', probe_until) end
if tonumber(ARGV[4 + 2*best]) >= 0 then
  redis.call('INCR', KEYS[4*best-1])
  redis.call('EXPIRE', KEYS[4*best-1], ARGV[#ARGV])
end
return {best, best_probe, '0'}
"""

RELEASE_SCRIPT = """
local now, failed, probe = tonumber(ARGV[1]), ARGV[3] == '1', ARGV[4] == '1'
local state = KEYS[1]
redis.call('ZREM', KEYS[2], ARGV[2])
local tokens = tonumber(ARGV[7])
if tokens > 0 then
  redis.call('INCRBY', KEYS[3], tokens)
  redis.call('EXPIRE', KEYS[3], ARGV[13])
end
redis.call('HINCRBY', state, 'requests', 1)
if not failed then
  for j, name in ipairs({'latency', 'ttft'}) do
    local sample = tonumber(ARGV[4 + j])
    if sample >= 0 then
      local average = tonumber(redis.call('HGET', state, name))
      redis.call('HSET', state, name, average and average + tonumber(ARGV[11]) * (sample - average) or sample)
    end
  end
  if probe then
    redis.call('HDEL', state, 'open_until', 'probe_until', 'fails', 'window_start')
    return 2
  end
  return 0
end
redis.call('HINCRBY', state, 'errors', 1)
local cooldown, forced = tonumber(ARGV[10]), ARGV[12] == '1'
local open_until = tonumber(redis.call('HGET', state, 'open_until')) or 0
local open = probe or (forced and open_until <= now)
if not open then
  local start, fails = tonumber(redis.call('HGET', state, 'window_start')) or 0, 0
  if now - start <= tonumber(ARGV[9]) then fails = tonumber(redis.call('HGET', state, 'fails')) or 0
  else redis.call('HSET', state, 'window_start', now) end
  fails = fails + 1
  redis.call('HSET', state, 'fails', fails)
  open = fails >= tonumber(ARGV[8]) and open_until <= now
end
if open then
  redis.call('HSET', state, 'open_until', now + cooldown, 'probe_until', 0, 'fails', 0)
  return 1
end
return 0
"""


UNLEASE_SCRIPT = """
redis.call('ZREM', KEYS[2], ARGV[1])
if ARGV[2] == '1' then redis.call('HSET', KEYS[1], 'probe_until', 0) end
if ARGV[3] == '1' and redis.call('EXISTS', KEYS[3]) == 1 then redis.call('DECR', KEYS[3]) end
return 0
"""

ACQUIRE, RELEASE, UNLEASE = Script(ACQUIRE_SCRIPT), Script(RELEASE_SCRIPT), Script(UNLEASE_SCRIPT)
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
            self._clients[loop] = (RedisWire(self.url, settings.PRISM_REDIS_TIMEOUT), redis.Redis.from_url(self.url))
        return self._clients[loop]

    def _keys(self, deployment, minute: int) -> list[str]:
        base = f"{settings.PRISM_COUNTER_PREFIX}:deployment:{deployment.key}"
        return [base, f"{base}:in_flight", f"{base}:rpm:{minute}", f"{base}:tpm:{minute}"]

    async def acquire(self, candidates, *, mode: str, lease: str, lease_for: float) -> Acquired:
        now = self.clock()
        wire, _ = self.client()
        keys = [key for deployment in candidates for key in self._keys(deployment, minute_of(now))]
        limits = [-1 if limit is None else limit for d in candidates for limit in (d.rpm, d.tpm)]
        try:
            index, probe, soonest = await wire.evalsha(ACQUIRE, keys, [now, mode, lease, now + lease_for,
                                                                       now + lease_for, *limits, COUNTER_TTL])
        except FAILURES:
            if not self.degraded:
                logger.warning("Redis is unreachable: deployments are chosen by this process's own state")
            self.degraded = True
            return await self.fallback.acquire(candidates, mode=mode, lease=lease, lease_for=lease_for)
        self.degraded = False
        if not index:
            return Acquired(None, retry_at=float(soonest) if float(soonest) > 0 else None)
        return Acquired(int(index) - 1, bool(probe))

    async def unlease(self, deployment, *, lease: str, probe: bool) -> None:
        wire, _ = self.client()
        base, in_flight, rpm, _ = self._keys(deployment, minute_of(self.clock()))
        try:
            await wire.evalsha(UNLEASE, [base, in_flight, rpm], [lease, int(probe), int(deployment.rpm is not None)])
        except FAILURES:
            await self.fallback.unlease(deployment, lease=lease, probe=probe)

    async def release(self, deployment, *, lease: str, probe: bool, outcome: Outcome) -> int:
        now = self.clock()
        wire, _ = self.client()
        base, in_flight, _, tpm = self._keys(deployment, minute_of(now))
        cooldown, forced = cooldown_of(outcome)
        tokens = outcome.tokens if deployment.tpm is not None else 0
        args = [now, lease, int(outcome.failed), int(probe), outcome.latency,
                -1 if outcome.ttft is None else outcome.ttft, tokens, settings.PRISM_DEPLOYMENT_FAILURES,
                settings.PRISM_DEPLOYMENT_FAILURE_WINDOW, cooldown, LATENCY_WEIGHT, int(forced), COUNTER_TTL]
        try:
            return int(await wire.evalsha(RELEASE, [base, in_flight, tpm], args))
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
