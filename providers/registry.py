"""Provider instances by name (settings.PRISM_PROVIDERS), made and initialized when first used."""

from django.conf import settings
from django.utils.module_loading import import_string

from gateway.errors import ServiceUnavailable

from .base import Provider

_instances: dict[str, Provider] = {}


async def provider_get(name: str) -> Provider:
    provider = _instances.get(name)
    if provider is None:
        try:
            provider_class = import_string(settings.PRISM_PROVIDERS[name])
        except KeyError:
            raise ServiceUnavailable(f"The provider {name!r} is not configured.") from None
        provider = provider_class()
        await provider.initialize()
        _instances[name] = provider
    return provider


def provider_classes() -> dict[str, type[Provider]]:
    return {name: import_string(path) for name, path in settings.PRISM_PROVIDERS.items()}


async def providers_reset() -> None:
    """Close and forget every provider, so the next request reads settings anew."""
    instances = list(_instances.values())
    _instances.clear()
    for provider in instances:
        await provider.close()
