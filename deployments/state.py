"""Deployments' health and load: circuit breakers, requests in flight, latency averages and capacity counters.

A deployment that fails PRISM_DEPLOYMENT_FAILURES times within PRISM_DEPLOYMENT_FAILURE_WINDOW seconds is
open (out) for PRISM_DEPLOYMENT_COOLDOWN seconds, or as long as a 429's Retry-After asks; then one request
probes it (half-open) and its outcome closes or reopens the circuit.

This module keeps that state in the process; `shared_state.py` keeps the same in Redis, for every process.
"""

import time
from dataclasses import dataclass, field

from django.conf import settings

LATENCY_WEIGHT = 0.2  # of the newest sample in the moving averages


@dataclass
class Acquired:
    """The deployment chosen (its index among the candidates), or none and when one may be back (`retry_at`)."""

    index: int | None
    probe: bool = False
    retry_at: float | None = None


@dataclass
class Outcome:
    """How one call to a deployment went."""

    failed: bool
    latency: float  # seconds
    ttft: float | None = None
    tokens: int = 0
    cooldown: float | None = None  # a 429's Retry-After: open for this long, however few failures came before


@dataclass
class Health:
    """One deployment's state in this process (LocalState) or as Redis keeps it (its hash's fields)."""

    open_until: float = 0.0
    probe_until: float = 0.0
    fails: int = 0
    window_start: float = 0.0
    latency: float | None = None
    ttft: float | None = None
    requests: int = 0
    errors: int = 0
    in_flight: dict = field(default_factory=dict)  # lease -> until when it counts

    def circuit(self, now: float) -> str:
        if not self.open_until:
            return "closed"
        return "open" if self.open_until > now else "half-open"


def minute_of(now: float) -> int:
    return int(now // 60)


def cooldown_of(outcome: Outcome) -> tuple[float, bool]:
    if outcome.cooldown is not None:
        return min(outcome.cooldown, settings.PRISM_DEPLOYMENT_COOLDOWN_MAX), True
    return settings.PRISM_DEPLOYMENT_COOLDOWN, False


def _averaged(average: float | None, sample: float) -> float:
    return sample if average is None else average + LATENCY_WEIGHT * (sample - average)


def _score(mode: str, health: Health, left: float, now: float) -> float:
    """The strategy's measure of a usable deployment: the lowest wins, the earliest among equals."""
    if mode == "least-busy":
        return sum(1 for until in health.in_flight.values() if until > now)
    if mode == "lowest-latency":
        return health.latency or 0
    if mode == "lowest-ttft":
        return health.ttft or 0
    return -left  # capacity


class LocalState:
    """The state of this process's deployments, in memory."""

    def __init__(self, clock=time.time):
        self.clock = clock
        self.health: dict[str, Health] = {}
        self.used: dict[tuple[str, str, int], int] = {}  # (deployment, rpm or tpm, minute) -> count

    def _health(self, key: str) -> Health:
        health = self.health.get(key)
        if health is None:
            health = self.health[key] = Health()
        return health

    async def acquire(self, candidates, *, mode: str, lease: str, lease_for: float) -> Acquired:
        now = self.clock()
        minute = minute_of(now)
        best = best_score = None
        best_probe, soonest = False, None
        for index, deployment in enumerate(candidates):
            health = self._health(deployment.key)
            probe = False
            if health.open_until > now:
                soonest = health.open_until if soonest is None else min(soonest, health.open_until)
                continue
            if health.open_until:
                if health.probe_until > now:
                    continue
                probe = True
            left = 1.0 if deployment.rpm is None and deployment.tpm is None else self._left(deployment, minute)
            if left < 0:
                continue
            if mode == "first":
                best, best_probe = index, probe
                break
            score = _score(mode, health, left, now)
            if best is None or score < best_score:
                best, best_score, best_probe = index, score, probe
        if best is None:
            return Acquired(None, retry_at=soonest)
        deployment, health = candidates[best], self._health(candidates[best].key)
        health.in_flight[lease] = now + lease_for
        if best_probe:
            health.probe_until = now + lease_for
        if deployment.rpm is not None:
            self.used[(deployment.key, "rpm", minute)] = self.used.get((deployment.key, "rpm", minute), 0) + 1
        return Acquired(best, best_probe)

    def _left(self, deployment, minute: int) -> float:
        """The smallest share of its capacities left this minute; -1 if one is used up."""
        left = 1.0
        for kind, limit in (("rpm", deployment.rpm), ("tpm", deployment.tpm)):
            if limit is not None:
                used = self.used.get((deployment.key, kind, minute), 0)
                left = -1.0 if used >= limit else min(left, (limit - used) / limit) if limit else left
        return left

    async def unlease(self, deployment, *, lease: str, probe: bool) -> None:
        """Give back a lease whose call was never made (its request was refused meanwhile): its place in
        flight, its probe, and its request this minute."""
        health = self._health(deployment.key)
        health.in_flight.pop(lease, None)
        if probe:
            health.probe_until = 0
        counter = (deployment.key, "rpm", minute_of(self.clock()))
        if deployment.rpm is not None and self.used.get(counter):
            self.used[counter] -= 1

    async def release(self, deployment, *, lease: str, probe: bool, outcome: Outcome, deferred=False) -> int:
        """Report a call's outcome; 1 if this opened the circuit, 2 if it closed it, else 0. A deferred report
        may wait for company (in Redis, the next call somebody waits for)."""
        now = self.clock()
        health = self._health(deployment.key)
        health.in_flight.pop(lease, None)
        if len(self.used) > 1000:  # forget the minutes gone by
            self.used = {key: value for key, value in self.used.items() if key[2] >= minute_of(now) - 1}
        if outcome.tokens and deployment.tpm is not None:
            counter = (deployment.key, "tpm", minute_of(now))
            self.used[counter] = self.used.get(counter, 0) + outcome.tokens
        health.requests += 1
        if not outcome.failed:
            health.latency = _averaged(health.latency, outcome.latency)
            if outcome.ttft is not None:
                health.ttft = _averaged(health.ttft, outcome.ttft)
            if probe:
                health.open_until = health.probe_until = health.fails = health.window_start = 0
                return 2
            return 0
        health.errors += 1
        cooldown, forced = cooldown_of(outcome)
        opening = probe or (forced and health.open_until <= now)
        if not opening:
            if now - health.window_start > settings.PRISM_DEPLOYMENT_FAILURE_WINDOW:
                health.window_start, health.fails = now, 0
            health.fails += 1
            opening = health.fails >= settings.PRISM_DEPLOYMENT_FAILURES and health.open_until <= now
        if opening:
            health.open_until, health.probe_until, health.fails = now + cooldown, 0, 0
            return 1
        return 0

    async def snapshot(self, deployments) -> list[tuple[Health, int]]:
        """Each deployment's health and the requests it took this minute."""
        now = self.clock()
        return [(self._health(d.key), self.used.get((d.key, "rpm", minute_of(now)), 0)) for d in deployments]
