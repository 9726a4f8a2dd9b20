"""System checks: config.yml's deployments and models load, and name only known providers."""

import yaml
from django.conf import settings
from django.core.checks import Error, register
from django.core.exceptions import ImproperlyConfigured

from providers.config import provider_names, router_config_read

from .config import router_file_parse


@register()
def deployments_check(app_configs, **kwargs):
    try:
        loaded = router_file_parse(router_config_read(str(settings.PRISM_ROUTER_CONFIG)))
    except (ImproperlyConfigured, OSError, ValueError, yaml.YAMLError) as error:
        return [Error(str(error), id="prism.E101")]
    known = provider_names()
    return [Error(f"config.yml: deployment {d.name!r} names the unknown provider {d.provider!r}.", id="prism.E102")
            for d in loaded.deployments if d.provider not in known]
