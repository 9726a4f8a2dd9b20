from django.core.management.base import BaseCommand

from tenants.management.limit_options import limit_arguments, limit_fields
from tenants.services import tenant_create


class Command(BaseCommand):
    help = "Create a tenant, or leave it as it is if it exists; limits given are set either way."

    def add_arguments(self, parser):
        parser.add_argument("name")
        limit_arguments(parser)

    def handle(self, *args, name, **options):
        tenant, created = tenant_create(name=name, **limit_fields(options))
        self.stdout.write(f"{'Created' if created else 'Exists'}: tenant {tenant.name}")
