"""Deployments: one model served by several upstreams, balanced, health-checked and failed over."""
