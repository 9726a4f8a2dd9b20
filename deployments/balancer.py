"""Choosing a deployment for one request, and the next one when it fails: a route's groups, in order.

The strategy orders a group's deployments (`weighted`: at random, in proportion to their weights;
an affinity key: the same order every time for the same key, rendezvous hashing by weight), and the
shared state takes the first usable one, or the usable one that is least busy, fastest or has the most
capacity left. A deployment of weight 0 serves only when the others of its group are out.
"""

import hashlib
import math
import random
import time
from collections.abc import Awaitable

from gateway.errors import ServiceUnavailable
from gateway.plugins.interface import Route
from providers.registry import provider_get

from .observability import deployment_observe
from .selectors import BalancedRoute, DeploymentInfo
from .shared_state import deployment_state
from .state import Acquired, Outcome

PREFIX_CHARS = 2048  # of the prompt, for prefix affinity
# Seconds a call without a timeout of its deployment counts as in flight if it never reports back (its
# process was killed mid-call): PRISM_UPSTREAM_TIMEOUT's default.
LEASE_DEFAULT = 600.0


class DeploymentsUnavailable(ServiceUnavailable):
    code = "deployments_unavailable"

    def __init__(self, model: str, retry_after: float):
        super().__init__(f"Every deployment of `{model}` is unavailable; try again later.",
                         headers=[(b"retry-after", str(max(1, math.ceil(retry_after))).encode())])


def affinity_key(affinity: str, context) -> str:
    """What keeps a conversation on one deployment: the user, a header's value or the prompt's start."""
    data = context.request_data
    if affinity == "user":
        metadata = data.get("metadata")
        return str(data.get("user") or (metadata.get("user_id") if isinstance(metadata, dict) else None) or "")
    if affinity == "prefix":
        prompt = data.get("messages") or data.get("input") or data.get("prompt")
        return str(prompt)[:PREFIX_CHARS] if prompt else ""
    if affinity.startswith("header:"):
        name = affinity[7:].encode()
        return next((value.decode("latin-1") for header, value in context.metadata.get("headers", ())
                     if header == name), "")
    return ""


def _rendezvous(key: str, deployment: DeploymentInfo) -> float:
    digest = hashlib.blake2b(f"{key}\0{deployment.key}".encode(), digest_size=8).digest()
    uniform = (int.from_bytes(digest, "big") + 1) / (2**64 + 2)
    return -deployment.weight / math.log(uniform)


def order(group, affinity: str) -> list[DeploymentInfo]:
    """The group in order of preference; weight-0 deployments last."""
    if affinity:
        return sorted(group, key=lambda d: (d.weight > 0, _rendezvous(affinity, d)), reverse=True)
    # Efraimidis-Spirakis: sorting by u^(1/w) puts each deployment first in proportion to its weight.
    return sorted(group, key=lambda d: random.random() ** (1 / d.weight) if d.weight > 0 else -1.0, reverse=True)


def _mode(route: BalancedRoute, affinity: str, stream: bool) -> str:
    if affinity or route.strategy == "weighted":
        return "first"
    if route.strategy == "lowest-latency" and stream:
        return "lowest-ttft"
    return route.strategy


class Plan:
    """One request's way through a route's groups: each failed call goes to another deployment."""

    def __init__(self, route: BalancedRoute, context, *, retries: int):
        # Not the context itself: its finishers hold the plan, and a cycle would leave every request's
        # context to the garbage collector.
        self.route, self.retries, self.model, self.lease_id = route, retries, context.model, context.request_id
        self.affinity = affinity_key(route.affinity, context) if route.affinity else ""
        self.mode = _mode(route, self.affinity, context.stream)
        self.group, self.calls = 0, 0  # the group being tried, and the calls made to it
        self.failed: set[str] = set()
        self.lease = None  # (deployment, probe, started) of the call under way
        self.repeat = False  # the current deployment failed before in this request: back off before calling it
        self.retry_at = None
        self.state = deployment_state()
        self._first = None  # (candidates, their acquiring) when the first choice was started early (prefetch)

    async def start(self, context) -> Route:
        """The route as planned, before a deployment is chosen: the first group's provider (for translation)."""
        if not self.route.groups:  # every deployment of the route is disabled
            raise DeploymentsUnavailable(self.model, 1.0)
        context.finishers.append(self.finish)
        first = self.route.groups[0][0]
        return Route(first.provider, await provider_get(first.provider), first.upstream_model or self.model, plan=self)

    def prefetch(self) -> None:
        """Start choosing the first deployment now, so that its call to the shared state goes with the
        request's counters (one write, one wait); a request refused meanwhile gives its lease back."""
        if self._first is None and self.lease is None and self.route.groups:
            self._first = self._acquiring(order(self.route.groups[0], self.affinity))

    async def first_route(self) -> Route:
        """The first deployment to call; 503 with Retry-After if every one of every group is out."""
        route = await self.next_route()
        if route is None:
            wait = (self.retry_at - time.time()) if self.retry_at else 1.0
            raise DeploymentsUnavailable(self.model, wait)
        return route

    async def next_route(self) -> Route | None:
        """A usable deployment of the current group (one that has not failed yet; once all have, any while
        PRISM_UPSTREAM_RETRIES allows), then of the next groups; None when none is."""
        while self.group < len(self.route.groups):
            group = self.route.groups[self.group]
            untried = [d for d in group if d.key not in self.failed]
            if untried or self.calls <= self.retries:
                first, self._first = self._first, None
                candidates, acquiring = first or self._acquiring(order(untried or group, self.affinity))
                deployment, probe = await self._acquire(candidates, acquiring)
                if deployment is not None:
                    self.calls, self.repeat = self.calls + 1, not untried
                    self.lease = (deployment, probe, time.perf_counter())
                    provider = await provider_get(deployment.provider)
                    return Route(deployment.provider, provider, deployment.upstream_model or self.model,
                                 deployment.timeout, endpoint=deployment.base_url, api_key=deployment.api_key,
                                 deployment=deployment.name, plan=self)
            self.group, self.calls = self.group + 1, 0
        return None

    def _acquiring(self, candidates: list[DeploymentInfo]) -> tuple[list[DeploymentInfo], Awaitable[Acquired]]:
        lease_for = candidates[0].timeout or LEASE_DEFAULT
        return candidates, self.state.acquire(candidates, mode=self.mode, lease=self.lease_id, lease_for=lease_for)

    async def _acquire(self, candidates: list[DeploymentInfo], acquiring: Awaitable[Acquired]):
        acquired = await acquiring
        if acquired.index is None:
            if acquired.retry_at and (self.retry_at is None or acquired.retry_at < self.retry_at):
                self.retry_at = acquired.retry_at
            return None, False
        return candidates[acquired.index], acquired.probe

    async def failed_call(self, cooldown: float | None = None) -> None:
        """The call under way failed in a way worth another try (elsewhere): report it."""
        deployment = self.lease[0]
        self.failed.add(deployment.key)
        await self._release(Outcome(True, time.perf_counter() - self.lease[2], cooldown=cooldown))

    async def finish(self, context) -> None:
        """Once the answer is sent: report the last call's outcome, latency and tokens, with the next call
        to the shared state (or give back a prefetched lease that no call used)."""
        first, self._first = self._first, None
        if first is not None:
            candidates, acquiring = first
            acquired = await acquiring
            if acquired.index is not None:
                await self.state.unlease(candidates[acquired.index], lease=self.lease_id, probe=acquired.probe)
            return
        if self.lease is None:
            return
        error = context.error
        failed = error is not None and error.status_code >= 500 and not context.metadata.get("client_gone")
        started = self.lease[2]
        ttft = context.first_byte_at - started if context.first_byte_at and context.first_byte_at > started else None
        tokens = (context.usage or {}).get("total_tokens") or 0
        await self._release(Outcome(failed, time.perf_counter() - started, ttft, tokens), deferred=True)

    async def _release(self, outcome: Outcome, deferred=False) -> None:
        deployment, probe, _ = self.lease
        self.lease = None
        change = await self.state.release(deployment, lease=self.lease_id, probe=probe, outcome=outcome,
                                          deferred=deferred)
        deployment_observe(deployment.name, outcome, change)
