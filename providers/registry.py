"""Provider instances by name, made and initialized when first used (and again when config.yml redeclares them).

A name is either a class in settings.PRISM_PROVIDERS or an OpenAI-compatible server in config.yml.
"""

import asyncio

from django.conf import settings
from django.utils.module_loading import import_string

from gateway.errors import ProviderNotConfigured

from .base import Provider
from .config import provider_names, router_config_load
from .openai_compatible import OpenAICompatibleProvider

# name: (the instance, its declaration in config.yml when it was made)
_instances: dict[str, tuple[Provider, dict | None]] = {}


def provider_make(name: str) -> Provider:
    if name in settings.PRISM_PROVIDERS:
        return import_string(settings.PRISM_PROVIDERS[name])()
    declared = router_config_load()["providers"].get(name)
    if declared is None:
        raise ProviderNotConfigured(repr(name), "declare it in config.yml or settings.PRISM_PROVIDERS")
    return OpenAICompatibleProvider(name=name, **declared)


async def provider_get(name: str) -> Provider:
    """The provider called `name`, made anew when its declaration in config.yml changed."""
    declared = router_config_load()["providers"].get(name)
    made = _instances.get(name)
    if made is not None and made[1] == declared:
        return made[0]
    provider = provider_make(name)
    await provider.initialize()
    _instances[name] = (provider, declared)
    if made is not None:
        _retire(made[0])
    return provider


def _retire(provider: Provider) -> None:
    """Close a replaced provider once the requests it may still be serving have timed out."""
    loop = asyncio.get_running_loop()
    loop.call_later(settings.PRISM_UPSTREAM_TIMEOUT, lambda: loop.create_task(provider.close()))


def provider_catalogue(*, tenant_keys=frozenset()) -> dict[str, tuple[str, ...]]:
    """The models of each provider that can serve now, by provider name (for /v1/models).

    A provider can serve when Prism has what it needs to call it (`configured`), or when the tenant
    brought its own key for it (`tenant_keys`, provider names).
    """
    providers = {name: provider_make(name) for name in provider_names()}
    return {name: provider.models for name, provider in providers.items() if provider.configured or name in tenant_keys}


async def providers_reset() -> None:
    """Close and forget every provider, so the next request reads settings anew."""
    instances = list(_instances.values())
    _instances.clear()
    for provider, _ in instances:
        await provider.close()
