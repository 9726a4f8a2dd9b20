"""The router's config.yml: the model-prefix map, the OpenAI-compatible servers declared beside it, and
the deployments and their routes (parsed by deployments/config.py).

The file is read again when it changes (its modification time, looked at no more than once a second),
so edits apply to a running Prism without a restart.
"""

import logging
import os
import time

import yaml
from django.conf import settings

logger = logging.getLogger(__name__)

RECHECK_SECONDS = 1.0
clock = time.monotonic  # tests move time on without waiting

_loaded: dict[str, tuple[float, int, dict]] = {}  # path: (checked at, mtime in ns, config)


def router_config_load(path=None) -> dict:
    """{"prefix_map": {prefix: provider}, "providers": {name: {base_url, api_key_env, models, renames}},
    "deployments": [...], "models": {...}}.

    The same object is returned until the file changes; callers read it and never change it.
    """
    path = str(path or settings.PRISM_ROUTER_CONFIG)
    now = clock()
    checked, mtime, config = _loaded.get(path, (None, None, None))
    if checked is not None and now - checked < RECHECK_SECONDS:
        return config
    try:
        current = os.stat(path).st_mtime_ns
        if current != mtime:
            config, mtime = router_config_read(path), current
    except (OSError, yaml.YAMLError, ValueError) as error:
        if config is None:
            raise
        # A half-written or broken edit must not stop a running Prism: it keeps the last good config.
        logger.error("Keeping the previous routing configuration: %s cannot be read (%s)", path, error)
    _loaded[path] = (now, mtime, config)
    return config


def router_config_read(path: str) -> dict:
    """The file as it is now (the system checks read it so; requests go through router_config_load)."""
    with open(path) as config_file:
        config = yaml.safe_load(config_file) or {}
    if not isinstance(config, dict):
        raise ValueError("it is not a mapping of prefix_map and providers")
    return {"prefix_map": dict(config.get("prefix_map") or {}), "providers": dict(config.get("providers") or {}),
            "deployments": list(config.get("deployments") or ()), "models": dict(config.get("models") or {})}


def provider_names() -> list[str]:
    """Every provider a route may name: the classes in settings, then the servers in config.yml."""
    return [*settings.PRISM_PROVIDERS, *router_config_load()["providers"]]
