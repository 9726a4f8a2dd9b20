"""For load balancers and monitoring: liveness, readiness and Prometheus metrics."""

from django.core.cache import cache
from django.db import DatabaseError
from django.http import HttpResponse, JsonResponse

from deployments.views import deployments_ready
from tenants.database import lookup_check

from .errors import ServiceUnavailable
from .observability import metrics_text


def healthz(request):
    """The process is up."""
    return JsonResponse({"status": "ok"})


def readyz(request):
    """The process can serve: its database and cache answer (the database as the hot path's lookups see it,
    on their thread and connection, within their deadline)."""
    failures = []
    try:
        lookup_check()
    except DatabaseError:
        failures.append("database")
    try:
        cache.set("prism:readyz", 1, 5)
        if cache.get("prism:readyz") != 1:
            failures.append("cache")
    except Exception:  # each cache backend raises its own errors (redis.ConnectionError, OSError, ...)
        failures.append("cache")
    if not deployments_ready():
        failures.append("every deployment of a group")
    if failures:
        error = ServiceUnavailable(f"Not ready: {' and '.join(failures)} unreachable.")
        return JsonResponse(error.as_dict(), status=error.status_code)
    return JsonResponse({"status": "ok"})


def metrics(request):
    return HttpResponse(metrics_text(), content_type="text/plain; version=0.0.4; charset=utf-8")
