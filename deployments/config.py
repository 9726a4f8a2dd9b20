"""config.yml's deployments and models (read, and re-read when the file changes, by providers/config.py).

    deployments:
      - {name: east, provider: openai_provider, base_url: "http://...", api_key_env: EAST_KEY, weight: 1}
      - {name: backup, provider: openai_provider, base_url: "http://...", api_key_env: BACKUP_KEY, rpm: 60}
    models:
      gpt-4o:                       # a model name, or a prefix ending in *
        strategy: weighted          # or least-busy, lowest-latency, capacity
        affinity: user              # optional: user, header:x-session-id, prefix
        groups: [[east], [backup]]  # the first group serves; the next ones are fallbacks

A file that no longer parses leaves the last good configuration in place, with an error in the log.
"""

import logging
import os
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured

from providers.config import router_config_load

from .models import STRATEGIES
from .selectors import BalancedRoute, DeploymentInfo

logger = logging.getLogger(__name__)

DEPLOYMENT_FIELDS = frozenset(["name", "provider", "base_url", "api_key_env", "upstream_model", "weight", "rpm",
                               "tpm", "timeout", "region", "enabled"])


@dataclass(frozen=True)
class RouterFile:
    """What the router reads from config.yml."""

    prefix_map: dict
    routes: tuple[BalancedRoute, ...] = ()
    deployments: tuple[DeploymentInfo, ...] = ()


def deployment_parse(entry: dict) -> DeploymentInfo:
    unknown = set(entry) - DEPLOYMENT_FIELDS
    if unknown or "name" not in entry or "provider" not in entry:
        raise ImproperlyConfigured(f"config.yml: deployment {entry!r} needs a name and a provider"
                                   + (f", and has unknown keys {sorted(unknown)}" if unknown else ""))
    key_env = entry.get("api_key_env")
    return DeploymentInfo(
        key=f"config/{entry['name']}", name=str(entry["name"]), provider=str(entry["provider"]),
        base_url=str(entry.get("base_url") or ""), api_key=os.environ.get(key_env, "") if key_env else "",
        upstream_model=str(entry.get("upstream_model") or ""), weight=int(entry.get("weight", 1)),
        rpm=entry.get("rpm"), tpm=entry.get("tpm"), timeout=entry.get("timeout"), region=str(entry.get("region") or ""),
    )


def route_parse(model: str, entry: dict, deployments: dict[str, DeploymentInfo], disabled: set) -> BalancedRoute:
    strategy, affinity = entry.get("strategy", "weighted"), str(entry.get("affinity") or "")
    if strategy not in STRATEGIES:
        raise ImproperlyConfigured(f"config.yml: model {model}: strategy {strategy!r} is not one of {STRATEGIES}")
    if affinity not in ("", "user", "prefix") and not affinity.startswith("header:"):
        raise ImproperlyConfigured(f"config.yml: model {model}: affinity {affinity!r} is not user, prefix or header:<name>")
    groups = []
    for group in entry.get("groups") or ():
        missing = [name for name in group if name not in deployments and name not in disabled]
        if missing:
            raise ImproperlyConfigured(f"config.yml: model {model} names unknown deployments {missing}")
        groups.append(tuple(deployments[name] for name in group if name in deployments))
    return BalancedRoute(model=str(model), groups=tuple(group for group in groups if group), strategy=strategy,
                         affinity=affinity.lower(), priority=int(entry.get("priority", 0)))


def router_file_parse(config: dict) -> RouterFile:
    entries = config.get("deployments") or ()
    parsed = [deployment_parse(entry) for entry in entries]
    deployments = {d.name: d for d, entry in zip(parsed, entries) if entry.get("enabled", True)}
    disabled = {d.name for d in parsed} - set(deployments)
    routes = tuple(route_parse(model, entry or {}, deployments, disabled)
                   for model, entry in (config.get("models") or {}).items())
    return RouterFile(dict(config.get("prefix_map") or {}), routes, tuple(parsed))


_parsed: dict = {}


def router_file() -> RouterFile:
    """config.yml's prefix map, deployments and routes, parsed again only when the file changed (providers/config.py
    looks at it at most once a second); an edit whose deployments do not parse keeps the last good ones."""
    loaded = router_config_load()
    if _parsed.get("loaded") is not loaded:
        try:
            parsed = router_file_parse(loaded)
        except (ImproperlyConfigured, TypeError, ValueError, KeyError) as error:
            if "file" not in _parsed:  # nothing good to keep: the error must show
                raise ImproperlyConfigured(f"config.yml: {error}") from None
            logger.error("config.yml: %s; keeping the last deployments and routes", error)
            parsed = _parsed["file"]
        _parsed.update(loaded=loaded, file=parsed)
    return _parsed["file"]
