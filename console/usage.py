"""The console's usage queries: filters read from the URL, and the series, breakdowns and requests they select.

Hourly totals (UsageHour) answer whatever they can (by tenant, key and model); a filter or figure
they do not hold (operation, status, stream, token classes, percentiles) reads the records.
"""

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import cached_property

from django.db import connection
from django.db.models import CharField, Count, F, IntegerField, Q, Sum, Value
from django.db.models.functions import TruncDay, TruncHour

from tenants.models import ApiKey, Tenant, UsageHour, UsageRecord
from tenants.usage_reports import Period, PercentileCont, _interpolated, period_parse

from .sampling import rows_read, sample_share, scaled, selection_size

STATUSES = {"ok": Q(status_code__lt=400), "error": Q(status_code__gte=400)}
OPERATIONS = ["chat", "responses", "embeddings", "completions", "moderations", "messages", "count_tokens"]


@dataclass(frozen=True)
class Filters:
    """What the URL selects; every view of the console keeps these in its links."""

    period: Period
    tenant: int | None = None
    key: int | None = None
    model: str = ""
    operation: str = ""
    status: str = ""
    stream: str = ""
    tenant_ids: tuple | None = field(default=None, compare=False)  # None: every tenant (staff)

    @cached_property
    def size(self) -> int:
        """At most how many requests are selected; asked once, when needed."""
        return selection_size(hours_of(self))

    @property
    def share(self) -> float:
        """Of the records, the share read for what only they hold (see sampling.py)."""
        return sample_share(self.size)

    @property
    def needs_records(self) -> bool:
        return bool(self.operation or self.status or self.stream)

    def query(self, **changes) -> dict:
        """The URL parameters of these filters, with `changes` applied (None drops one)."""
        chosen = replace(self, **changes) if changes else self
        params = {"period": chosen.period.name} if chosen.period.name != "custom" else {
            "since": chosen.period.since.date().isoformat(),
            "until": (chosen.period.until - timedelta(days=1)).date().isoformat()}
        for name in ("tenant", "key", "model", "operation", "status", "stream"):
            if getattr(chosen, name) not in (None, ""):
                params[name] = getattr(chosen, name)
        return params


def _int(text) -> int | None:
    return int(text) if text and str(text).isdigit() else None


def _period(params) -> Period:
    try:
        return period_parse(params)
    except ValueError:  # a date that does not exist: the named period instead
        return period_parse({"period": params.get("period")})


def filters_parse(params, *, tenant_ids) -> Filters:
    status = params.get("status", "")
    return Filters(
        period=_period(params),
        tenant=_int(params.get("tenant")),
        key=_int(params.get("key")),
        model=params.get("model", "")[:100],
        operation=params.get("operation", "") if params.get("operation") in OPERATIONS else "",
        status=status if status in STATUSES or (status.isdigit() and len(status) == 3) else "",
        stream=params.get("stream", "") if params.get("stream") in ("yes", "no") else "",
        tenant_ids=tenant_ids,
    )


def records_of(filters: Filters):
    records = UsageRecord.objects.filter(created_at__gte=filters.period.since, created_at__lt=filters.period.until)
    if filters.tenant_ids is not None:
        records = records.filter(tenant_id__in=filters.tenant_ids)
    records = records.filter(**{name: value for name, value in (
        ("tenant_id", filters.tenant), ("api_key_id", filters.key), ("requested_model", filters.model),
        ("operation", filters.operation)) if value})
    if filters.status:
        records = records.filter(STATUSES.get(filters.status) or Q(status_code=int(filters.status)))
    if filters.stream:
        records = records.filter(is_stream=filters.stream == "yes")
    return records


def hours_of(filters: Filters):
    hours = UsageHour.objects.filter(hour__gte=filters.period.since, hour__lt=filters.period.until)
    if filters.tenant_ids is not None:
        hours = hours.filter(tenant_id__in=filters.tenant_ids)
    return hours.filter(**{name: value for name, value in (
        ("tenant_id", filters.tenant), ("api_key_id", filters.key), ("model", filters.model)) if value})


@dataclass(frozen=True)
class Source:
    """One of the two tables, and how its columns are called."""

    rows: object
    bucket: object
    columns: dict
    totals: dict
    share: float = 1.0


def source_of(filters: Filters, *, records: bool = False) -> Source:
    day = filters.period.bucket == "day"
    if records or filters.needs_records:
        return Source(records_of(filters), TruncDay("created_at") if day else TruncHour("created_at"),
                      {"model": "requested_model", "tenant": "tenant_id", "key": "api_key_id",
                       "status": "status_code", "operation": "operation"},
                      {"requests": Count("id"), "errors": Count("id", filter=Q(status_code__gte=400)),
                       "prompt_tokens": Sum("prompt_tokens"), "completion_tokens": Sum("completion_tokens"),
                       "total_tokens": Sum("total_tokens"), "cost": Sum("cost")}, filters.share)
    return Source(hours_of(filters), TruncDay("hour") if day else F("hour"),
                  {"model": "model", "tenant": "tenant_id", "key": "api_key_id"},
                  {name: Sum(name) for name in
                   ("requests", "errors", "prompt_tokens", "completion_tokens", "total_tokens", "cost")})


def buckets_of(period: Period) -> list[datetime]:
    """Every bucket of the period, traffic or not."""
    step = timedelta(days=1) if period.bucket == "day" else timedelta(hours=1)
    start = period.since.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    if period.bucket == "day":
        start = start.replace(hour=0)
    buckets = []
    while start < period.until:
        buckets.append(start)
        start += step
    return buckets


SUMS = ["requests", "errors", "prompt_tokens", "completion_tokens", "total_tokens", "cost", "cached_tokens",
        "reasoning_tokens", "cache_write_tokens"]


def _read(source: Source, rows) -> list[dict]:
    """Rows with None as 0, read whole from the hourly totals or from the records' sample."""
    share = source.share if source.rows.model is UsageRecord else 1.0
    return [scaled({name: (value if value is not None else 0) for name, value in row.items()}, share,
                   [name for name in SUMS if name in row]) for row in rows_read(rows, share)]


def totals_of(filters: Filters) -> dict:
    """The summary and the breakdowns by model, tenant and key, added up from one query (by key and model)."""
    rows = grouped(filters, by=("key", "model"), over_time=False)
    tenant_of = dict(ApiKey.objects.filter(id__in={row["by_key"] for row in rows}).values_list("id", "tenant_id"))
    totals = {"summary": {None: dict.fromkeys(SUMS[:6], 0)}, "model": {}, "tenant": {}, "key": {}}
    for row in rows:
        for table, group in (("summary", None), ("model", row["by_model"]), ("key", row["by_key"]),
                             ("tenant", tenant_of.get(row["by_key"]))):
            total = totals[table].setdefault(group, {"group": group, **dict.fromkeys(SUMS[:6], 0)})
            for name in SUMS[:6]:
                total[name] += row[name]
    for table in totals.values():
        for total in table.values():
            total["error_rate"] = total["errors"] / total["requests"] * 100 if total["requests"] else 0.0
    return {table: list(groups.values()) for table, groups in totals.items()}


def percentiles(filters: Filters, columns=("latency_ms", "ttft_ms"), *, over_time: bool,
                fractions=(0.5, 0.95)) -> dict:
    """{bucket: {column: [p50, p95]}} of records columns, in one pass (None is skipped, as percentile_cont does).

    Without `over_time`, one bucket: None. Buckets without requests are left out.
    """
    source = source_of(filters, records=True)
    rows = source.rows.annotate(bucket=source.bucket if over_time else Value(None, output_field=CharField()))
    if connection.vendor == "postgresql":
        found = _read(source, rows.values("bucket").annotate(**{
            f"{column}_{i}": PercentileCont(column, fraction)
            for column in columns for i, fraction in enumerate(fractions)}).order_by())
        return {row["bucket"]: {column: [row[f"{column}_{i}"] for i in range(len(fractions))] for column in columns}
                for row in found}
    grouped = {}
    for bucket, *values in rows.values_list("bucket", *columns):
        for column, value in zip(columns, values):
            grouped.setdefault(bucket, {}).setdefault(column, []).append(value)
    return {bucket: {column: _percentiles_of([v for v in values if v is not None], fractions)
                     for column, values in by_column.items()} for bucket, by_column in grouped.items()}


def _percentiles_of(values: list, fractions) -> list:
    return [_interpolated(sorted(values), fraction) if values else None for fraction in fractions]


def grouped(filters: Filters, *, by: str | tuple = (), over_time: bool, token_classes: bool = False) -> list[dict]:
    """Totals per split value, per bucket if `over_time`; a row names its group `group` (`by` is one
    dimension) or `by_<dimension>` (`by` is several)."""
    dimensions = (by,) if isinstance(by, str) else by
    source = source_of(filters, records=token_classes or not set(dimensions) <= {"model", "tenant", "key"})
    groups = {}
    if over_time:
        groups["bucket"] = source.bucket
    for dimension in dimensions:
        groups["group" if isinstance(by, str) else f"by_{dimension}"] = F(source.columns[dimension])
    # Without groups, a constant: one row of totals (a constant is left out of GROUP BY).
    groups = groups or {"all": Value(1, output_field=IntegerField())}
    rows = source.rows.annotate(**groups).values(*groups)
    totals = dict(source.totals)
    if token_classes:  # they live on the records only
        totals.update(cached_tokens=Sum("cached_tokens"), reasoning_tokens=Sum("reasoning_tokens"),
                      cache_write_tokens=Sum("cache_write_tokens"))
    return _read(source, rows.annotate(**totals).order_by())


def group_names(by: str, ids) -> dict:
    """Readable names for the split values: tenants and keys are stored by id."""
    if by == "tenant":
        return dict(Tenant.objects.filter(id__in=ids).values_list("id", "name"))
    if by == "key":
        return {key.id: str(key) for key in ApiKey.objects.filter(id__in=ids)}
    return {value: str(value) for value in ids}
