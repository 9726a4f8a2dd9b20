"""What operators watch: Prometheus metrics and one JSON log line per request (never a key or content).

Both are fed from the usage record, once per request, after the answer is sent. With several worker
processes, set PROMETHEUS_MULTIPROC_DIR so that /metrics adds up every worker's numbers. Clients choose
model names, so a model is a label of its own only when Prism's configuration names it (see
`model_label`); /metrics is for operators only (see `metrics_access_required`).
"""

import functools
import hmac
import json
import logging
import os

from django.conf import settings
from django.http import JsonResponse
from django.utils.module_loading import import_string
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess

from providers.config import router_config_load

from .errors import AuthenticationFailed, PermissionDenied

request_log = logging.getLogger("prism.requests")

LABELS = ["tenant", "model", "operation", "status"]
REQUESTS = Counter("prism_requests_total", "Requests, by the door's operation (chat, responses, embeddings, ...)",
                   LABELS)
TOKENS = Counter("prism_tokens_total", "Tokens used, as the upstream counted them", ["tenant", "model", "kind"])
LATENCY = Histogram("prism_request_latency_seconds", "Time to the end of the answer", ["model"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120))
FIRST_TOKEN = Histogram("prism_time_to_first_token_seconds", "Time to the first streamed event", ["model"],
                        buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
OPEN_STREAMS = Gauge("prism_open_streams", "Streams being relayed now", multiprocess_mode="livesum")
RATE_LIMITED = Counter("prism_rate_limit_rejections_total", "Requests refused by a limit or budget", ["tenant", "type"])
USAGE_QUEUE = Gauge("prism_usage_queue_depth", "Usage records waiting to be stored", multiprocess_mode="livesum")

OTHER_MODELS = "other"
# A safety net under model_label's rule: no process ever makes more model labels than this.
MAX_MODEL_LABELS = 1000
_model_labels: set[str] = set()


def model_label(record: dict) -> str:
    """The served model if the catalogue of the provider that served it names it, or a route or the upstream
    renamed the requested model (so it is not the client's string); else "other". Clients invent names,
    and each name would be new series in every metric."""
    served = record["served_model"] or "-"
    if served in _model_labels:
        return served
    named = served != record["requested_model"] or served in _catalogue(record["provider"] or "",
                                                                         str(settings.PRISM_ROUTER_CONFIG))
    if named and len(_model_labels) < MAX_MODEL_LABELS:
        _model_labels.add(served)
        return served
    return OTHER_MODELS


@functools.lru_cache(maxsize=64)
def _catalogue(provider: str, router_config: str) -> frozenset[str]:
    """The models one provider names. Its class is loaded by now (it served the request); loading every
    provider's, as /v1/models does, would stall the event loop for the Anthropic SDK's import."""
    if provider in settings.PRISM_PROVIDERS:
        return frozenset(import_string(settings.PRISM_PROVIDERS[provider]).models)
    declared = router_config_load()["providers"].get(provider) or {}
    return frozenset(declared.get("models") or ()) | frozenset(declared.get("renames") or ())


def request_observe(record: dict, tenant_name: str) -> None:
    model = model_label(record)
    requests, prompt, completion, latency, first_token = _series(tenant_name, model, record["operation"],
                                                                 record["status_code"])
    requests.inc()
    prompt.inc(record["prompt_tokens"])
    completion.inc(record["completion_tokens"])
    latency.observe(record["latency_ms"] / 1000)
    if record["ttft_ms"] is not None:
        first_token.observe(record["ttft_ms"] / 1000)
    if record["status_code"] == 429 and record["error_type"] in ("requests", "tokens", "insufficient_quota"):
        RATE_LIMITED.labels(tenant_name, record["error_type"]).inc()
    if request_log.isEnabledFor(logging.INFO):
        request_log.info(json.dumps({
            "request_id": record["request_id"], "tenant": tenant_name, "operation": record["operation"],
            "model": record["requested_model"],
            "served_model": record["served_model"], "provider": record["provider"],
            "deployment": record["deployment"] or None,
            "status": record["status_code"], "error": record["error_type"] or None, "stream": record["is_stream"],
            "latency_ms": record["latency_ms"], "ttft_ms": record["ttft_ms"], "total_tokens": record["total_tokens"],
        }))


@functools.lru_cache(maxsize=4096)
def _series(tenant_name: str, model: str, operation: str, status: int) -> tuple:
    """The labelled series of one tenant, model, operation and status: looking them up costs more than counting."""
    return (REQUESTS.labels(tenant_name, model, operation, status), TOKENS.labels(tenant_name, model, "prompt"),
            TOKENS.labels(tenant_name, model, "completion"), LATENCY.labels(model), FIRST_TOKEN.labels(model))


def metrics_token_offered(request) -> bool:
    """The request bears `Authorization: Bearer <PRISM_METRICS_TOKEN>` (a scraper); never true without a token."""
    token = settings.PRISM_METRICS_TOKEN
    scheme, _, offered = request.headers.get("Authorization", "").partition(" ")
    return bool(token) and scheme.lower() == "bearer" and hmac.compare_digest(offered.strip().encode(), token.encode())


def metrics_access_required(view):
    """Let operators only read `view`: with PRISM_METRICS_TOKEN set, requests bearing it; without, callers on
    this machine (loopback). Logged-in staff may always. Tenants' names and traffic are not public."""

    @functools.wraps(view)
    def guarded(request, *args, **kwargs):
        token = settings.PRISM_METRICS_TOKEN
        if token:
            allowed = metrics_token_offered(request)
        else:
            allowed = request.META.get("REMOTE_ADDR") in ("127.0.0.1", "::1")
        if allowed or (request.user.is_authenticated and request.user.is_staff):
            return view(request, *args, **kwargs)
        error = (AuthenticationFailed("Reading /metrics needs `Authorization: Bearer <PRISM_METRICS_TOKEN>`.")
                 if token else PermissionDenied("/metrics may be read from this machine only; set "
                                                "PRISM_METRICS_TOKEN to read it from elsewhere."))
        return JsonResponse(error.as_dict(), status=error.status_code)

    return guarded


def metrics_text() -> bytes:
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest()
