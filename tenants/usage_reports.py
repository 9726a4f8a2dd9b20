"""Usage aggregates for the dashboard and the usage API, computed in the database.

Everything starts from `usage_selection()` within `tenants_visible()`, so a user only ever counts the
tenants they may see.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection
from django.db.models import Aggregate, Count, F, FloatField, Q, Sum
from django.db.models.functions import TruncDay, TruncHour
from django.utils import timezone
from django.utils.dateparse import parse_date

from .models import Tenant, UsageRecord

PERIODS = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}


@dataclass(frozen=True)
class Period:
    name: str
    since: datetime
    until: datetime

    @property
    def bucket(self) -> str:
        return "hour" if self.until - self.since <= timedelta(days=2) else "day"


def period_parse(params, *, now: datetime | None = None) -> Period:
    """`period` is 24h, 7d or 30d (default 24h), or `since` and `until` dates for a custom range."""
    now = now or timezone.now()
    since, until = parse_date(params.get("since") or ""), parse_date(params.get("until") or "")
    if since and until and since <= until:
        start = datetime.combine(since, datetime.min.time(), tzinfo=timezone.get_current_timezone())
        return Period("custom", start, start + timedelta(days=(until - since).days + 1))
    name = params.get("period") if params.get("period") in PERIODS else "24h"
    return Period(name, now - PERIODS[name], now)


def tenants_visible(user):
    """Staff see every tenant; other users the tenants they are members of."""
    return Tenant.objects.all() if user.is_staff else Tenant.objects.filter(members=user)


def usage_selection(params, *, tenants):
    """(period, chosen tenant id or None, records) for a request's query parameters, within `tenants`."""
    period = period_parse(params)
    tenant_id = params.get("tenant")
    tenant_id = int(tenant_id) if tenant_id and tenant_id.isdigit() else None
    records = UsageRecord.objects.filter(tenant__in=tenants, created_at__gte=period.since, created_at__lt=period.until)
    return period, tenant_id, records.filter(tenant_id=tenant_id) if tenant_id else records


class PercentileCont(Aggregate):
    """PostgreSQL's percentile_cont(fraction) WITHIN GROUP (ORDER BY field)."""

    function = "percentile_cont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression, fraction, **extra):
        super().__init__(expression, fraction=float(fraction), **extra)


def _percentiles(records, field: str, fractions=(0.5, 0.95)) -> list[float | None]:
    records = records.exclude(**{f"{field}__isnull": True})
    if connection.vendor == "postgresql":
        found = records.aggregate(**{f"p{i}": PercentileCont(field, f) for i, f in enumerate(fractions)})
        return [found[f"p{i}"] for i in range(len(fractions))]
    values = sorted(records.values_list(field, flat=True))  # the embedded SQLite default has no percentile_cont
    return [_interpolated(values, fraction) if values else None for fraction in fractions]


def _interpolated(values: list, fraction: float) -> float:
    """percentile_cont's definition: linear interpolation between the closest ranks."""
    position = fraction * (len(values) - 1)
    low = int(position)
    high = min(low + 1, len(values) - 1)
    return values[low] + (values[high] - values[low]) * (position - low)


TOTALS = {
    "requests": Count("id"),
    "prompt_tokens": Sum("prompt_tokens"),
    "completion_tokens": Sum("completion_tokens"),
    "total_tokens": Sum("total_tokens"),
    "cost": Sum("cost"),
    "errors": Count("id", filter=Q(status_code__gte=400)),
}


def _with_zeros(row: dict) -> dict:
    return {name: (value if value is not None else 0) for name, value in row.items()}


def usage_summary(records) -> dict:
    summary = _with_zeros(records.aggregate(**TOTALS))
    summary["error_rate"] = summary["errors"] / summary["requests"] if summary["requests"] else 0.0
    summary["latency_p50_ms"], summary["latency_p95_ms"] = _percentiles(records, "latency_ms")
    summary["ttft_p50_ms"], summary["ttft_p95_ms"] = _percentiles(records, "ttft_ms")
    return summary


def usage_series(records, period: Period) -> list[dict]:
    trunc = TruncHour if period.bucket == "hour" else TruncDay
    rows = records.annotate(time=trunc("created_at")).values("time").annotate(**TOTALS).order_by("time")
    return [_with_zeros(row) for row in rows]


BREAKDOWNS = {
    "tenant": {"name": F("tenant__name")},
    "key": {"name": F("api_key__prefix"), "label": F("api_key__label"), "tenant_name": F("tenant__name")},
    "model": {"name": F("requested_model")},
}


def usage_breakdown(records, by: str) -> list[dict]:
    rows = records.values(**BREAKDOWNS[by]).annotate(**TOTALS).order_by("-total_tokens", "-requests")
    return [_with_zeros(row) for row in rows]


def usage_recent(records, limit: int = 50) -> list[dict]:
    fields = ["created_at", "request_id", "tenant__name", "api_key__prefix", "requested_model", "served_model",
              "status_code", "error_type", "is_stream", "total_tokens", "cost", "latency_ms", "ttft_ms"]
    return list(records.order_by("-created_at").values(*fields)[:limit])


TABLES = {
    "summary": lambda records, period: [usage_summary(records)],
    "series": usage_series,
    "by_tenant": lambda records, period: usage_breakdown(records, "tenant"),
    "by_key": lambda records, period: usage_breakdown(records, "key"),
    "by_model": lambda records, period: usage_breakdown(records, "model"),
    "recent": lambda records, period: usage_recent(records),
}


def usage_report(records, period: Period) -> dict:
    """Every table of the dashboard, by name."""
    return {name: table(records, period) for name, table in TABLES.items()}
