"""System checks: every configured provider imports, and the router's config names only known providers."""

from django.conf import settings
from django.core.checks import Error, register
from django.utils.module_loading import import_string

from providers.config import provider_names

from .plugins.model_router import prefix_map_load


@register()
def providers_check(app_configs, **kwargs):
    errors = []
    for name, dotted_path in settings.PRISM_PROVIDERS.items():
        try:
            import_string(dotted_path)
        except ImportError as error:
            errors.append(Error(f"Provider {name!r} cannot be imported: {error}", id="prism.E001"))
    try:
        prefix_map, known = prefix_map_load(), provider_names()
    except (OSError, ValueError) as error:
        return errors + [Error(f"The router config cannot be read: {error}", id="prism.E002")]
    errors += [
        Error(f"The router config sends {prefix!r} to the unknown provider {name!r}.", id="prism.E003")
        for prefix, name in prefix_map.items()
        if name not in known
    ]
    return errors
