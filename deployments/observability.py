"""Deployments' Prometheus series: calls and failures, latency, and circuits opened and closed."""

import functools

from prometheus_client import Counter, Histogram

CALLS = Counter("prism_deployment_calls_total", "Calls to each deployment, by outcome", ["deployment", "outcome"])
LATENCY = Histogram("prism_deployment_latency_seconds", "Time each deployment took to answer", ["deployment"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120))
CIRCUITS = Counter("prism_deployment_circuit_changes_total", "Circuits opened (taken out) and closed (back)",
                   ["deployment", "state"])
CHANGES = {1: "open", 2: "closed"}


def deployment_observe(name: str, outcome, change: int) -> None:
    calls, failures, latency = _series(name)
    (failures if outcome.failed else calls).inc()
    if not outcome.failed:
        latency.observe(outcome.latency)
    if change:
        CIRCUITS.labels(name, CHANGES[change]).inc()


@functools.lru_cache(maxsize=1024)
def _series(name: str) -> tuple:
    return CALLS.labels(name, "ok"), CALLS.labels(name, "failed"), LATENCY.labels(name)
