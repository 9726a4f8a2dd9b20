"""Drop this process's cached keys, routes and prices whenever staff change them."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from .directory import directory
from .models import ApiKey, ModelPrice, ProviderCredential, RoutingRule, Tenant


@receiver([post_save, post_delete], sender=Tenant)
@receiver([post_save, post_delete], sender=ApiKey)
@receiver([post_save, post_delete], sender=RoutingRule)
@receiver([post_save, post_delete], sender=ProviderCredential)
@receiver([post_save, post_delete], sender=ModelPrice)
def directory_clear(**kwargs):
    directory.clear()
