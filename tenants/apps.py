from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = "Tenants, keys and usage"

    def ready(self):
        from . import signals  # noqa: F401  (connects cache invalidation)
