import re
from datetime import timedelta
from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError
from django.db.models import F
from django.utils import timezone

from tenants.management.tables import rows_write
from tenants.models import Tenant, UsageHour
from tenants.usage_reports import TOTALS

UNITS = {"h": "hours", "d": "days"}
MICRODOLLAR = Decimal("0.000001")


def since_parse(text: str) -> timedelta:
    """7d, 24h, ... as a timedelta."""
    found = re.fullmatch(r"(\d+)([hd])", text)
    if found is None:
        raise CommandError(f"--since takes hours or days, like 24h or 7d, not {text!r}.")
    return timedelta(**{UNITS[found[2]]: int(found[1])})


class Command(BaseCommand):
    help = "Requests, tokens and cost (US dollars) per tenant and model, since a time ago (from the start of its hour)."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", help="only this tenant")
        parser.add_argument("--since", default="7d", help="how far back: 24h, 7d, 30d, ... (default: 7d)")
        parser.add_argument("--json", action="store_true", help="JSON for scripts")

    def handle(self, *args, tenant, since, json, **options):
        start = (timezone.now() - since_parse(since)).replace(minute=0, second=0, microsecond=0)
        hours = UsageHour.objects.filter(hour__gte=start)
        if tenant is not None:
            if not Tenant.objects.filter(name=tenant).exists():
                raise CommandError(f"No tenant named {tenant!r}.")
            hours = hours.filter(tenant__name=tenant)
        rows = (hours.values(tenant_name=F("tenant__name"), model_name=F("model")).annotate(**TOTALS)
                .order_by("tenant_name", "-total_tokens", "model_name"))
        columns = ["requests", "errors", "prompt_tokens", "completion_tokens", "total_tokens"]
        rows_write(self.stdout, [
            {"tenant": row["tenant_name"], "model": row["model_name"], **{name: row[name] for name in columns},
             "cost": Decimal(row["cost"] or 0).quantize(MICRODOLLAR)}
            for row in rows
        ], as_json=json)
