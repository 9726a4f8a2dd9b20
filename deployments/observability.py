"""Deployments' Prometheus series: calls by outcome, and circuits opened and closed.

(Latency by deployment is in `GET /v1/deployments/health`, as the moving averages the strategies use.)
"""

import functools

from prometheus_client import Counter

CALLS = Counter("prism_deployment_calls_total", "Calls to each deployment, by outcome", ["deployment", "outcome"])
CIRCUITS = Counter("prism_deployment_circuit_changes_total", "Circuits opened (taken out) and closed (back)",
                   ["deployment", "state"])
CHANGES = {1: "open", 2: "closed"}


def deployment_observe(name: str, outcome, change: int) -> None:
    _series(name)[outcome.failed].inc()
    if change:
        CIRCUITS.labels(name, CHANGES[change]).inc()


@functools.lru_cache(maxsize=1024)
def _series(name: str) -> tuple:
    return CALLS.labels(name, "ok"), CALLS.labels(name, "failed")
