"""Provider instances by name, made and initialized when first used.

A name is either a class in settings.PRISM_PROVIDERS or an OpenAI-compatible server in config.yml.
"""

from django.conf import settings
from django.utils.module_loading import import_string

from gateway.errors import ProviderNotConfigured

from .base import Provider
from .config import router_config_load
from .openai_compatible import OpenAICompatibleProvider

_instances: dict[str, Provider] = {}


def provider_make(name: str) -> Provider:
    if name in settings.PRISM_PROVIDERS:
        return import_string(settings.PRISM_PROVIDERS[name])()
    declared = router_config_load()["providers"].get(name)
    if declared is None:
        raise ProviderNotConfigured(repr(name), "declare it in config.yml or settings.PRISM_PROVIDERS")
    return OpenAICompatibleProvider(name=name, **declared)


async def provider_get(name: str) -> Provider:
    provider = _instances.get(name)
    if provider is None:
        provider = provider_make(name)
        await provider.initialize()
        _instances[name] = provider
    return provider


def provider_catalogue() -> dict[str, tuple[str, ...]]:
    """The models each provider offers, by provider name (for /v1/models)."""
    catalogue = {name: import_string(path).models for name, path in settings.PRISM_PROVIDERS.items()}
    for name, declared in router_config_load()["providers"].items():
        catalogue[name] = tuple(declared.get("models") or ()) + tuple(declared.get("renames") or ())
    return catalogue


async def providers_reset() -> None:
    """Close and forget every provider, so the next request reads settings anew."""
    instances = list(_instances.values())
    _instances.clear()
    for provider in instances:
        await provider.close()
