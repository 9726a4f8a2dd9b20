"""The router's config.yml: the model-prefix map, and the OpenAI-compatible servers declared beside it."""

import yaml
from django.conf import settings


def router_config_load(path=None) -> dict:
    """{"prefix_map": {prefix: provider}, "providers": {name: {base_url, api_key_env, models, renames}}}."""
    with open(path or settings.PRISM_ROUTER_CONFIG) as config_file:
        config = yaml.safe_load(config_file) or {}
    return {"prefix_map": dict(config.get("prefix_map") or {}), "providers": dict(config.get("providers") or {})}


def provider_names() -> list[str]:
    """Every provider a route may name: the classes in settings, then the servers in config.yml."""
    return [*settings.PRISM_PROVIDERS, *router_config_load()["providers"]]
