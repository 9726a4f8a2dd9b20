from django.core.management.base import BaseCommand

from tenants.services import usage_hours_rebuild


class Command(BaseCommand):
    help = "Recompute the dashboard's hourly usage totals from the usage records (after importing records)."

    def handle(self, *args, **options):
        self.stdout.write(f"{usage_hours_rebuild()} hourly totals rebuilt.")
