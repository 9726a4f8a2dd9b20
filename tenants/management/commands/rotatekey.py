from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError

from tenants.keys import key_prefix
from tenants.models import ApiKey
from tenants.services import ROTATION_GRACE, key_rotate


class Command(BaseCommand):
    help = (
        "Rotate an API key (by its prefix or the whole key): issue a new key with the same tenant, label, models "
        "and limits, and let the old one work for the grace period, then expire. The new key is the last line."
    )

    def add_arguments(self, parser):
        parser.add_argument("prefix")
        parser.add_argument("--grace-hours", type=float, default=ROTATION_GRACE.total_seconds() / 3600,
                            help="how long the old key keeps working (default: %(default)g)")

    def handle(self, *args, prefix, grace_hours, **options):
        if grace_hours < 0:
            raise CommandError("--grace-hours cannot be negative.")
        try:
            new, raw, old = key_rotate(prefix=key_prefix(prefix) or prefix, grace=timedelta(hours=grace_hours))
        except ApiKey.DoesNotExist:
            raise CommandError("No key has that prefix.")
        except ValueError as error:
            raise CommandError(str(error))
        self.stderr.write(
            f"Issued key {new.prefix} for tenant {new.tenant.name}; {old.prefix} works until "
            f"{old.expires_at:%Y-%m-%d %H:%M} UTC. Copy the new key now: it is not stored."
        )
        self.stdout.write(raw)
