from django.core.management.base import BaseCommand, CommandError

from tenants.management.tables import rows_write
from tenants.models import ApiKey, Tenant


class Command(BaseCommand):
    help = "List API keys (all, or one tenant's): prefix, label, tenant, state, last use and expiry (UTC)."

    def add_arguments(self, parser):
        parser.add_argument("tenant", nargs="?", help="only this tenant's keys")
        parser.add_argument("--json", action="store_true", help="JSON for scripts, times in ISO 8601")

    def handle(self, *args, tenant, json, **options):
        keys = ApiKey.objects.select_related("tenant").order_by("tenant__name", "-created_at")
        if tenant is not None:
            if not Tenant.objects.filter(name=tenant).exists():
                raise CommandError(f"No tenant named {tenant!r}.")
            keys = keys.filter(tenant__name=tenant)
        rows = [
            {"prefix": key.prefix, "label": key.label, "tenant": key.tenant.name, "state": key.state,
             "last_used": key.last_used_at, "expires": key.expires_at}
            for key in keys
        ]
        rows_write(self.stdout, rows, as_json=json)
