from django.core.management.base import BaseCommand

from tenants.services import tenant_create


class Command(BaseCommand):
    help = "Create a tenant, or leave it as it is if it exists."

    def add_arguments(self, parser):
        parser.add_argument("name")

    def handle(self, *args, name, **options):
        tenant, created = tenant_create(name=name)
        self.stdout.write(f"{'Created' if created else 'Exists'}: tenant {tenant.name}")
