from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from tenants.management.limit_options import limit_arguments, limit_fields
from tenants.models import Tenant
from tenants.services import key_issue


class Command(BaseCommand):
    help = "Issue an API key for a tenant; the key is the last line of the output and is shown only once."

    def add_arguments(self, parser):
        parser.add_argument("tenant", help="the tenant's name")
        parser.add_argument("--name", default="", help="a label for the key")
        parser.add_argument("--expires-in", type=int, metavar="DAYS", help="days until the key expires")
        parser.add_argument("--models", default="", help="comma-separated models the key may use (default: all)")
        limit_arguments(parser)

    def handle(self, *args, tenant, name, expires_in, models, **options):
        try:
            tenant = Tenant.objects.get(name=tenant)
        except Tenant.DoesNotExist:
            raise CommandError(f"No tenant named {tenant!r}; create it with createtenant.")
        api_key, raw = key_issue(
            tenant=tenant,
            label=name,
            expires_at=timezone.now() + timedelta(days=expires_in) if expires_in else None,
            allowed_models=[model.strip() for model in models.split(",") if model.strip()],
            **limit_fields(options),
        )
        self.stderr.write(f"Issued key {api_key.prefix} for tenant {tenant.name}. Copy it now: it is not stored.")
        self.stdout.write(raw)
