"""Usage aggregates for the dashboard and the usage API, computed in the database.

Totals, series and breakdowns add up the hourly table (UsageHour) that the usage writer keeps;
percentiles and recent requests read the records themselves. Periods start on the hour, so both
agree. Everything starts from `usage_selection()` within `tenants_visible()`, so a user only ever
counts the tenants they may see.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import connection
from django.db.models import Aggregate, Count, F, FloatField, Q, Sum
from django.db.models.functions import TruncDay
from django.utils import timezone
from django.utils.dateparse import parse_date

from .models import ApiKey, Tenant, UsageHour, UsageRecord
from .selectors import MICRO, budget_period_start, cost_used_since
from .services import COST_CLASSES

PERIODS = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}
# The largest id the database stores (a 64-bit key); a bigger one would be a database error, not "none".
MAX_ID = 2**63 - 1


class SelectionInvalid(ValueError):
    """A query parameter (`param`) cannot select anything: an impossible date, a malformed tenant id."""

    def __init__(self, message: str, *, param: str):
        super().__init__(message)
        self.param = param


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
    since, until = _date_parse(params, "since"), _date_parse(params, "until")
    if since and until:
        if since > until:
            raise SelectionInvalid(f"since ({since}) is after until ({until}).", param="since")
        start = datetime.combine(since, datetime.min.time(), tzinfo=timezone.get_current_timezone())
        return Period("custom", start, start + timedelta(days=(until - since).days + 1))
    name = params.get("period") if params.get("period") in PERIODS else "24h"
    return Period(name, (now - PERIODS[name]).replace(minute=0, second=0, microsecond=0), now)


def _date_parse(params, name: str) -> date | None:
    """A YYYY-MM-DD date (empty: none) that exists and leaves room for the day after it."""
    text = params.get(name) or ""
    try:
        parsed = parse_date(text)
    except ValueError:  # well-formed but impossible, such as 2026-02-30
        parsed = None
    if text and (parsed is None or parsed >= date.max):
        raise SelectionInvalid(f"{name} must be a date that exists, as YYYY-MM-DD; got {text[:40]!r}.", param=name)
    return parsed


def _tenant_id_parse(params) -> int | None:
    text = params.get("tenant") or ""
    if not text:
        return None
    if not (text.isascii() and text.isdigit() and len(text) <= 19 and 0 < int(text) <= MAX_ID):
        raise SelectionInvalid(f"tenant must be a tenant's id (a positive whole number); got {text[:40]!r}.",
                               param="tenant")
    return int(text)


def tenants_visible(user):
    """Staff see every tenant; other users the tenants they are members of."""
    return Tenant.objects.all() if user.is_staff else Tenant.objects.filter(members=user)


@dataclass(frozen=True)
class Selection:
    period: Period
    tenant_id: int | None
    records: object  # UsageRecord queryset
    hours: object  # UsageHour queryset
    tenants: object = None  # Tenant queryset


def usage_selection(params, *, tenants) -> Selection:
    """What a request's query parameters select (period, optional tenant), within `tenants`.

    Raises SelectionInvalid for parameters that cannot select anything.
    """
    period = period_parse(params)
    tenant_id = _tenant_id_parse(params)
    tenants = tenants.filter(id=tenant_id) if tenant_id else tenants
    records = UsageRecord.objects.filter(tenant__in=tenants, created_at__gte=period.since, created_at__lt=period.until)
    hours = UsageHour.objects.filter(tenant__in=tenants, hour__gte=period.since, hour__lt=period.until)
    return Selection(period, tenant_id, records, hours, tenants)


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


TOTALS = {field: Sum(field) for field in
          ["requests", "prompt_tokens", "completion_tokens", "total_tokens", "cost", "errors"]}


def _with_zeros(row: dict) -> dict:
    return {name: (value if value is not None else 0) for name, value in row.items()}


def usage_summary(selection: Selection) -> dict:
    summary = _with_zeros(selection.hours.aggregate(**TOTALS))
    summary["error_rate"] = summary["errors"] / summary["requests"] if summary["requests"] else 0.0
    summary["latency_p50_ms"], summary["latency_p95_ms"] = _percentiles(selection.records, "latency_ms")
    summary["ttft_p50_ms"], summary["ttft_p95_ms"] = _percentiles(selection.records, "ttft_ms")
    return summary


def usage_series(selection: Selection) -> list[dict]:
    """Totals per hour, or per day for periods longer than two days."""
    if selection.period.bucket == "hour":
        rows = selection.hours.values(time=F("hour"))
    else:
        rows = selection.hours.annotate(time=TruncDay("hour")).values("time")
    return [_with_zeros(row) for row in rows.annotate(**TOTALS).order_by("time")]


BREAKDOWNS = {
    "tenant": {"name": F("tenant__name")},
    "key": {"name": F("api_key__prefix"), "label": F("api_key__label"), "tenant_name": F("tenant__name")},
    "model": {"name": F("model")},
}


def usage_breakdown(selection: Selection, by: str) -> list[dict]:
    rows = selection.hours.values(**BREAKDOWNS[by]).annotate(**TOTALS).order_by("-total_tokens", "-requests")
    return [_with_zeros(row) for row in rows]


def usage_recent(selection: Selection, limit: int = 50) -> list[dict]:
    fields = ["created_at", "request_id", "tenant__name", "api_key__prefix", "operation", "requested_model",
              "served_model", "status_code", "error_type", "is_stream", "prompt_tokens", "completion_tokens",
              "total_tokens", "cached_tokens", "cache_write_tokens", "reasoning_tokens", "usage_source",
              "service_tier", "cost", "latency_ms", "ttft_ms"]
    return list(selection.records.order_by("-created_at").values(*fields)[:limit])


def usage_costs(selection: Selection) -> list[dict]:
    """Cost per token class, the requests with tokens but no price, and the share of tokens Prism estimated."""
    estimated = Q(usage_source="estimated")
    row = _with_zeros(selection.records.aggregate(
        **{name: Sum(name) for name in COST_CLASSES}, tokens=Sum("total_tokens"),
        unpriced_requests=Count("id", filter=Q(cost__isnull=True, total_tokens__gt=0)),
        estimated_requests=Count("id", filter=estimated), estimated_tokens=Sum("total_tokens", filter=estimated),
    ))
    row["estimated_share"] = row["estimated_tokens"] / row["tokens"] if row["tokens"] else 0.0
    return [row]


def usage_budgets(selection: Selection, *, now: datetime | None = None) -> list[dict]:
    """Each dollar budget of the selected tenants and their keys: spent in its current period, of its limit."""
    now = now or timezone.now()
    tenants = selection.tenants.filter(budget_usd__isnull=False)
    keys = ApiKey.objects.filter(tenant__in=selection.tenants, budget_usd__isnull=False, revoked_at__isnull=True)
    rows = []
    for scope, owner, name in [("tenant", t, t.name) for t in tenants] + [("key", k, k.prefix) for k in
                                                                        keys.select_related("tenant")]:
        start = budget_period_start(owner.budget_period, now)
        spent = cost_used_since(scope=scope, id=owner.id, since=start) / MICRO
        rows.append({"scope": scope, "name": name, "tenant_name": name if scope == "tenant" else owner.tenant.name,
                     "period": owner.budget_period, "period_start": start, "spent_usd": spent,
                     "budget_usd": owner.budget_usd,
                     "used_share": float(spent / owner.budget_usd) if owner.budget_usd else 1.0})
    return rows


TABLES = {
    "summary": lambda selection: [usage_summary(selection)],
    "series": usage_series,
    "by_tenant": lambda selection: usage_breakdown(selection, "tenant"),
    "by_key": lambda selection: usage_breakdown(selection, "key"),
    "by_model": lambda selection: usage_breakdown(selection, "model"),
    "recent": usage_recent,
    "costs": usage_costs,
    "budgets": usage_budgets,
}


def usage_report(selection: Selection) -> dict:
    """Every table of the dashboard, by name."""
    return {name: table(selection) for name, table in TABLES.items()}
