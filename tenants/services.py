"""Writes: creating tenants, issuing and revoking keys, storing usage."""

import logging
from datetime import datetime
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncHour
from django.utils import timezone

from .keys import NewKey, key_generate, key_hash, key_prefix
from .models import ApiKey, ModelPrice, Tenant, UsageHour, UsageRecord

logger = logging.getLogger(__name__)
MILLION = Decimal(1_000_000)


def tenant_create(*, name: str, **limits) -> tuple[Tenant, bool]:
    """Return the tenant called `name`, creating it if needed (safe to repeat), with the given limits."""
    tenant, created = Tenant.objects.get_or_create(name=name, defaults=limits)
    if limits and not created:
        for field, value in limits.items():
            setattr(tenant, field, value)
        tenant.save()
    return tenant, created


def key_save_new(api_key: ApiKey, *, raw: str | None = None) -> str:
    """Give an unsaved key its prefix and hash, save it, and return the raw key, which is never stored.

    `raw` registers a key made elsewhere (the quickstart keeps its demo key in .env).
    """
    new = NewKey(prefix=key_prefix(raw), raw=raw) if raw else key_generate()
    if new.prefix is None:
        raise ValueError("not a Prism key")
    api_key.prefix = new.prefix
    api_key.key_hash = key_hash(new.raw)
    api_key.save()
    return new.raw


def key_issue(
    *,
    tenant: Tenant,
    label: str = "",
    expires_at: datetime | None = None,
    allowed_models: list[str] = (),
    raw: str | None = None,
    **limits,
) -> tuple[ApiKey, str]:
    """Issue a key for `tenant` and return it with the raw key."""
    api_key = ApiKey(
        tenant=tenant, label=label, expires_at=expires_at, allowed_models=",".join(allowed_models), **limits
    )
    return api_key, key_save_new(api_key, raw=raw)


def key_revoke(*, prefix: str) -> ApiKey:
    api_key = ApiKey.objects.get(prefix=prefix)
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
    return api_key


def usage_cost(record: dict, prices: dict) -> Decimal:
    """The record's cost at today's prices: the longest price prefix of the model that served it."""
    model = record["served_model"] or record["requested_model"]
    matches = [prefix for prefix in prices if model.startswith(prefix)]
    if not matches:
        return Decimal(0)
    price = prices[max(matches, key=len)]
    return (record["prompt_tokens"] * price.input_per_million
            + record["completion_tokens"] * price.output_per_million) / MILLION


def usage_records_create(*, records: list[dict]) -> None:
    """Store a batch of usage records and add them to the hourly totals, each exactly once.

    The batch goes in as one transaction. If it is refused, the records already stored are left out
    (as when a process exits while its last batch is being written), and the rest are stored one by
    one, so that a record naming a tenant or key deleted meanwhile cannot hold back the others; it is
    skipped and logged.
    """
    prices = {price.model_prefix: price for price in ModelPrice.objects.all()}
    for record in records:
        record["cost"] = usage_cost(record, prices)
    try:
        _records_store(records)
    except IntegrityError:
        stored = set(UsageRecord.objects.filter(request_id__in=[record["request_id"] for record in records])
                     .values_list("request_id", flat=True))
        for record in records:
            if record["request_id"] in stored:
                continue
            try:
                _records_store([record])
            except IntegrityError:
                logger.warning("Skipped usage record %s: its tenant or key is gone", record)
    last_used = {}
    for record in sorted(records, key=lambda record: record["created_at"]):
        last_used[record["api_key_id"]] = record["created_at"]
    for api_key_id, when in last_used.items():
        ApiKey.objects.filter(id=api_key_id).update(last_used_at=when)


RECORD_COLUMNS = [
    "tenant_id", "api_key_id", "request_id", "requested_model", "served_model", "provider", "deployment", "operation",
    "prompt_tokens", "completion_tokens", "total_tokens", "cached_tokens", "cache_write_tokens", "reasoning_tokens",
    "usage_source", "status_code", "error_type", "is_stream", "latency_ms", "ttft_ms", "cost", "created_at",
]


def _records_store(records: list[dict]) -> None:
    """Insert the records and add them to their hours, in one transaction (plain SQL: this runs per request)."""
    adapt = connection.ops.adapt_datetimefield_value
    rows = [[record[column] for column in RECORD_COLUMNS[:-1]] + [adapt(record["created_at"])] for record in records]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {UsageRecord._meta.db_table} ({', '.join(RECORD_COLUMNS)}) "
            f"VALUES ({', '.join(['%s'] * len(RECORD_COLUMNS))})",
            rows,
        )
        _hours_add(records, cursor)


HOUR_FIELDS = ["requests", "errors", "prompt_tokens", "completion_tokens", "total_tokens", "cost"]


def _hours_add(records: list[dict], cursor) -> None:
    """Add records to their hours' totals, in one upsert per hour, tenant, key and model."""
    totals = {}
    for record in records:
        group = (record["created_at"].replace(minute=0, second=0, microsecond=0), record["tenant_id"],
                 record["api_key_id"], record["requested_model"])
        row = totals.setdefault(group, dict.fromkeys(HOUR_FIELDS, 0))
        row["requests"] += 1
        row["errors"] += record["status_code"] >= 400
        for field in ("prompt_tokens", "completion_tokens", "total_tokens", "cost"):
            row[field] += record[field]
    if not totals:
        return
    table = UsageHour._meta.db_table
    columns = ", ".join(HOUR_FIELDS)
    updates = ", ".join(f"{field} = {table}.{field} + excluded.{field}" for field in HOUR_FIELDS)
    cursor.executemany(
        f"INSERT INTO {table} (hour, tenant_id, api_key_id, model, {columns}) "
        f"VALUES (%s, %s, %s, %s, {', '.join(['%s'] * len(HOUR_FIELDS))}) "
        f"ON CONFLICT (hour, tenant_id, api_key_id, model) DO UPDATE SET {updates}",
        [(connection.ops.adapt_datetimefield_value(hour), *group, *(row[field] for field in HOUR_FIELDS))
         for (hour, *group), row in totals.items()],
    )


def usage_hours_rebuild() -> int:
    """Recompute the hourly totals from every usage record (after a bulk import); returns the rows made."""
    totals = (
        UsageRecord.objects.annotate(hour_=TruncHour("created_at"))
        .values("hour_", "tenant_id", "api_key_id", "requested_model")
        .annotate(requests_=Count("id"), errors_=Count("id", filter=Q(status_code__gte=400)),
                  **{f"{field}_": Sum(field) for field in HOUR_FIELDS[2:]})
    )
    with transaction.atomic():
        UsageHour.objects.all().delete()
        hours = UsageHour.objects.bulk_create(
            (UsageHour(hour=row["hour_"], tenant_id=row["tenant_id"], api_key_id=row["api_key_id"],
                       model=row["requested_model"], **{field: row[f"{field}_"] for field in HOUR_FIELDS})
             for row in totals.iterator()),
            batch_size=5000,
        )
    return len(hours)
