from django.core.management.base import BaseCommand, CommandError

from tenants.keys import key_prefix
from tenants.models import ApiKey
from tenants.services import key_revoke


class Command(BaseCommand):
    help = "Revoke an API key, named by its prefix (or the whole key)."

    def add_arguments(self, parser):
        parser.add_argument("prefix")

    def handle(self, *args, prefix, **options):
        try:
            api_key = key_revoke(prefix=key_prefix(prefix) or prefix)
        except ApiKey.DoesNotExist:
            raise CommandError("No key has that prefix.")
        self.stdout.write(f"Revoked key {api_key.prefix} of tenant {api_key.tenant.name}.")
