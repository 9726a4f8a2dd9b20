"""Deployments' state for operators: `GET /v1/deployments/health`, and whether Prism can serve every route."""

import time

from asgiref.sync import async_to_sync, sync_to_async
from django.db import DatabaseError
from django.http import JsonResponse

from gateway.errors import PermissionDenied
from gateway.observability import metrics_token_offered

from . import selectors
from .config import router_file
from .shared_state import deployment_state


async def deployments_health(request):
    """Every deployment (config.yml's, then the admin's) with its circuit, load and latency; staff only."""
    user = await request.auser()
    if not (user.is_active and user.is_staff) and not metrics_token_offered(request):
        error = PermissionDenied("Staff only: sign in to the admin, or send the metrics token.")
        return JsonResponse(error.as_dict(), status=error.status_code)
    deployments = [(d, "config") for d in router_file().deployments]
    deployments += [(d, "admin") for d in await sync_to_async(selectors.deployments_list)()]
    states = await deployment_state().snapshot([d for d, _ in deployments])
    now = time.time()
    return JsonResponse({"object": "list", "data": [
        {
            "name": d.name, "source": source, "provider": d.provider, "base_url": d.base_url,
            "upstream_model": d.upstream_model, "region": d.region, "weight": d.weight, "rpm": d.rpm, "tpm": d.tpm,
            "circuit": health.circuit(now), "open_for_seconds": round(max(0.0, health.open_until - now), 3),
            "in_flight": sum(1 for until in health.in_flight.values() if until > now),
            "requests_this_minute": used, "requests": int(health.requests), "errors": int(health.errors),
            "latency_ms": None if health.latency is None else round(health.latency * 1000, 1),
            "ttft_ms": None if health.ttft is None else round(health.ttft * 1000, 1),
        }
        for (d, source), (health, used) in zip(deployments, states)
    ]})


async def _groups_usable() -> bool:
    groups = [group for route in router_file().routes for group in route.groups]
    try:
        groups += [group for route in await sync_to_async(selectors.deployment_routes_list)(tenant_id=None)
                   for group in route.groups]
    except DatabaseError:  # /readyz reports the database itself
        pass
    members = list({d.key: d for group in groups for d in group}.values())
    states = dict(zip((d.key for d in members), await deployment_state().snapshot(members)))
    now = time.time()
    return all(any(states[d.key][0].open_until <= now for d in group) for group in groups)


def deployments_ready() -> bool:
    """True while every configured group (config.yml's and the admin's global routes) has a usable deployment:
    for /readyz."""
    return async_to_sync(_groups_usable)()
