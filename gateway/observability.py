"""What operators watch: Prometheus metrics and one JSON log line per request (never a key or content).

Both are fed from the usage record, once per request, after the answer is sent. With several worker
processes, set PROMETHEUS_MULTIPROC_DIR so that /metrics adds up every worker's numbers.
"""

import functools
import json
import logging
import os

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess

request_log = logging.getLogger("prism.requests")

LABELS = ["tenant", "model", "status"]
REQUESTS = Counter("prism_requests_total", "Chat completion requests", LABELS)
TOKENS = Counter("prism_tokens_total", "Tokens used, as the upstream counted them", ["tenant", "model", "kind"])
LATENCY = Histogram("prism_request_latency_seconds", "Time to the end of the answer", ["model"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120))
FIRST_TOKEN = Histogram("prism_time_to_first_token_seconds", "Time to the first streamed event", ["model"],
                        buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
OPEN_STREAMS = Gauge("prism_open_streams", "Streams being relayed now", multiprocess_mode="livesum")
RATE_LIMITED = Counter("prism_rate_limit_rejections_total", "Requests refused by a limit or budget", ["tenant", "type"])
USAGE_QUEUE = Gauge("prism_usage_queue_depth", "Usage records waiting to be stored", multiprocess_mode="livesum")


def request_observe(record: dict, tenant_name: str) -> None:
    # The served model, not the requested one: clients can send any string, which would flood the labels.
    requests, prompt, completion, latency, first_token = _series(tenant_name, record["served_model"] or "-",
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
            "request_id": record["request_id"], "tenant": tenant_name, "model": record["requested_model"],
            "served_model": record["served_model"], "provider": record["provider"],
            "deployment": record["deployment"] or None,
            "status": record["status_code"], "error": record["error_type"] or None, "stream": record["is_stream"],
            "latency_ms": record["latency_ms"], "ttft_ms": record["ttft_ms"], "total_tokens": record["total_tokens"],
        }))


@functools.lru_cache(maxsize=4096)
def _series(tenant_name: str, model: str, status: int) -> tuple:
    """The labelled series of one tenant, model and status: looking them up costs more than counting."""
    return (REQUESTS.labels(tenant_name, model, status), TOKENS.labels(tenant_name, model, "prompt"),
            TOKENS.labels(tenant_name, model, "completion"), LATENCY.labels(model), FIRST_TOKEN.labels(model))


def metrics_text() -> bytes:
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest()
