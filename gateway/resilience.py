"""Calling the routed provider: retries with backoff and jitter, then the routing rule's fallbacks.

A route over deployments retries elsewhere instead: each failed call goes to another deployment of its
group, then of the next groups, as the route's plan chooses (deployments/balancer.py).

Retried: connection failures, timeouts, and upstream 408/409/429/5xx answers, for plain calls and
for streams (which fail this way only before their first byte). An upstream's Retry-After is
honoured; if it asks for more than PRISM_RETRY_MAX_WAIT seconds, its answer is passed on instead.
"""

import asyncio
import random

from django.conf import settings

from providers.registry import provider_get

from .errors import GatewayTimeout, UpstreamUnreachable
from .plugins.interface import RequestContext, Route

RETRYABLE_STATUSES = frozenset([408, 409, 429, 500, 502, 503, 504])


def retry_after(headers) -> float | None:
    """The wait the upstream asked for, in seconds (retry-after-ms, or retry-after in seconds)."""
    values = {name.lower(): value for name, value in headers}
    for name, scale in ((b"retry-after-ms", 0.001), (b"retry-after", 1.0)):
        try:
            return float(values[name]) * scale
        except (KeyError, ValueError):
            continue
    return None


def backoff(attempt: int) -> float:
    """Exponential backoff with full jitter."""
    return random.uniform(0, settings.PRISM_RETRY_BACKOFF * 2**attempt)


async def _fallback_routes(context: RequestContext):
    for provider_name, model in context.route.fallbacks:
        yield Route(provider_name, await provider_get(provider_name), model, context.route.timeout)


async def _call(context: RequestContext) -> float | None:
    """Call the current route once: None if it answered for good, else the wait it asked for before a retry."""
    try:
        await context.route.provider.handle(context, None)
    except (UpstreamUnreachable, GatewayTimeout) as error:
        context.error, context.response = error, None
        return 0.0
    context.error = None
    if context.response.status not in RETRYABLE_STATUSES:
        return None
    return retry_after(context.response.headers) or 0.0


async def _attempts(context: RequestContext, sleep) -> bool:
    """Call the current route until it answers for good; False if it keeps failing in a retryable way."""
    for attempt in range(settings.PRISM_UPSTREAM_RETRIES + 1):
        asked = await _call(context)
        if asked is None:
            return True
        if asked > settings.PRISM_RETRY_MAX_WAIT:
            return False
        if attempt < settings.PRISM_UPSTREAM_RETRIES:
            await sleep(max(asked, backoff(attempt)))
    return False


async def _deployment_attempts(context: RequestContext, sleep) -> bool:
    """Call a route's deployments: each failed call goes to another one while any is usable (deployments/)."""
    plan = context.route.plan
    context.route = await plan.first_route()
    attempt = 0
    while True:
        if context.route.upstream_model != context.model:
            context.request_data_update(model=context.route.upstream_model)
        asked = await _call(context)
        if asked is None:
            return True
        rate_limited = context.response is not None and context.response.status == 429
        await plan.failed_call(cooldown=asked if rate_limited and asked else None)
        route = await plan.next_route()
        if route is None:
            return False
        if plan.repeat:
            await sleep(max(asked, backoff(attempt)))
        context.route, attempt = route, attempt + 1


async def provider_call(context: RequestContext, *, sleep=asyncio.sleep) -> None:
    """The pipeline's last step: the routed provider, then each fallback, until one answers.

    A request Prism answered itself (a token count for a model that is not Claude) goes nowhere."""
    if context.response is not None:
        return
    if context.route.plan is not None:
        if await _deployment_attempts(context, sleep):
            return
    elif await _attempts(context, sleep):
        return
    async for route in _fallback_routes(context):
        context.route = route
        context.request_data_update(model=route.upstream_model)
        if await _attempts(context, sleep):
            return
    if context.error is not None:
        raise context.error
