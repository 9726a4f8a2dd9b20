"""Writes: creating tenants, issuing, rotating and revoking keys, storing usage."""

from datetime import datetime, timedelta
from decimal import Decimal

from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncHour
from django.utils import timezone

from .database import off_request
from .keys import NewKey, key_generate, key_hash, key_prefix
from .models import TOKEN_CLASSES, ApiKey, Limits, ModelPrice, Tenant, UsageHour, UsageRecord
from .selectors import Prices
from .usage_cleaning import usage_cost_clean, usage_record_clean

MILLION = Decimal(1_000_000)
LIMIT_FIELDS = [field.name for field in Limits._meta.fields]


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


ROTATION_GRACE = timedelta(hours=24)


def key_rotate(*, prefix: str, grace: timedelta = ROTATION_GRACE) -> tuple[ApiKey, str, ApiKey]:
    """Replace a key: a new one with the same tenant, label, models and limits; the old one expires after `grace`.

    Clients move to the new key while the old one still works. A key with a lifetime gets a new one as
    long. Returns the new key, its raw value (shown once) and the old key.
    """
    now = timezone.now()
    with transaction.atomic():
        old = ApiKey.objects.select_for_update().get(prefix=prefix)
        if old.is_revoked:
            raise ValueError(f"The key {prefix} is revoked; issue a new one instead.")
        new = ApiKey(
            tenant=old.tenant, label=old.label, allowed_models=old.allowed_models,
            expires_at=old.expires_at and now + (old.expires_at - old.created_at),
            **{field: getattr(old, field) for field in LIMIT_FIELDS},
        )
        raw = key_save_new(new)
        old.expires_at = min(old.expires_at or now + grace, now + grace)
        old.save(update_fields=["expires_at"])
    return new, raw, old


def key_revoke(*, prefix: str) -> ApiKey:
    api_key = ApiKey.objects.get(prefix=prefix)
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
    return api_key


COST_CLASSES = ["input_cost", "cached_input_cost", "cache_write_cost", "output_cost", "reasoning_cost", "audio_cost"]
TIERS = {"batch": "batch_multiplier", "flex": "flex_multiplier", "priority": "priority_multiplier"}
PRECISION = Decimal("0.00000001")  # the cost columns keep 8 decimal places
NO_COST = Decimal(0).quantize(PRECISION)


def usage_cost(record: dict, prices: Prices) -> dict:
    """The record's cost per token class and in all, at today's prices (None when its model has no price).

    Each token is priced once: the record's prompt holds its cached, cache-write and audio tokens, its
    completion its reasoning and audio tokens; what is left of each is priced as plain input or output.
    """
    price = prices.of(record["served_model"] or record["requested_model"])
    if price is None:
        return dict.fromkeys(["cost", *COST_CLASSES])
    tokens = {name: record.get(name) or 0 for name in TOKEN_CLASSES}
    written, written_1h = tokens["cache_write_tokens"], tokens["cache_write_1h_tokens"]
    fresh = tokens["prompt_tokens"] - tokens["cached_tokens"] - written - tokens["audio_input_tokens"]
    output = tokens["completion_tokens"] - tokens["reasoning_tokens"] - tokens["audio_output_tokens"]
    input_price, output_price = price.input_per_million, price.output_per_million
    amounts = {
        "input_cost": max(fresh, 0) * input_price,
        "cached_input_cost": tokens["cached_tokens"] * _or(price.cached_input_per_million, input_price),
        "cache_write_cost": ((written - written_1h) * _or(price.cache_write_5m_per_million, input_price)
                             + written_1h * _or(price.cache_write_1h_per_million, input_price)),
        "output_cost": max(output, 0) * output_price,
        "reasoning_cost": tokens["reasoning_tokens"] * _or(price.reasoning_per_million, output_price),
        "audio_cost": (tokens["audio_input_tokens"] * _or(price.audio_input_per_million, input_price)
                       + tokens["audio_output_tokens"] * _or(price.audio_output_per_million, output_price)),
    }
    tier = TIERS.get(record.get("service_tier") or "")
    scale = (getattr(price, tier) if tier else 1) / MILLION
    costs = {name: (amount * scale).quantize(PRECISION) if amount else NO_COST for name, amount in amounts.items()}
    return {"cost": sum(costs.values()), **costs}


def _or(price: Decimal | None, default: Decimal) -> Decimal:
    return default if price is None else price


@off_request()
def usage_records_create(*, records: list[dict]) -> list[tuple[dict, str]]:
    """Store a batch of usage records and add them to the hourly totals, each exactly once.

    Records are cleaned first (`usage_cleaning`). The batch goes in as one transaction. If it is refused
    (other than by an unreachable database, which raises), the records already stored are left out (as
    when a process exits while its last batch is being written), the rest are tried again together and
    then one by one, so that no record can hold back the others. Returns the records that could not be
    stored (a tenant or key deleted meanwhile), each with the database's reason.
    """
    prices = Prices((price.model_prefix, price) for price in ModelPrice.objects.all())
    # Cleaned, and each request once (a spool taken over twice may hold a record twice).
    records = list({record["request_id"]: record for record in map(usage_record_clean, records)}.values())
    for record in records:
        record.update({name: None if cost is None else usage_cost_clean(cost)
                       for name, cost in usage_cost(record, prices).items()})
    refused = _records_store_all(records)
    last_used = {}
    refused_ids = {record["request_id"] for record, _ in refused}
    for record in sorted(records, key=lambda record: record["created_at"]):
        if record["request_id"] not in refused_ids:
            last_used[record["api_key_id"]] = record["created_at"]
    for api_key_id, when in last_used.items():
        ApiKey.objects.filter(id=api_key_id).update(last_used_at=when)
    return refused


UNREACHABLE = (OperationalError, InterfaceError)
# Why a database refuses records (a driver raises ValueError for text it cannot encode).
REFUSED = (DatabaseError, ValueError, TypeError)


def _records_store_all(records: list[dict]) -> list[tuple[dict, str]]:
    """Store what can be stored; return the rest with the reason (see usage_records_create)."""
    if _refusal(records) is None:
        return []
    stored = set(UsageRecord.objects.filter(request_id__in=[record["request_id"] for record in records])
                 .values_list("request_id", flat=True))
    records = [record for record in records if record["request_id"] not in stored]
    if len(records) > 1 and _refusal(records) is None:
        return []
    refusals = [(record, _refusal([record])) for record in records]
    return [(record, reason) for record, reason in refusals if reason is not None]


def _refusal(records: list[dict]) -> str | None:
    """Store the records in one transaction; None if they went in, else why not."""
    try:
        _records_store(records)
    except UNREACHABLE:
        raise
    except REFUSED as error:
        return f"{type(error).__name__}: {error}"
    return None


RECORD_COLUMNS = [
    "tenant_id", "api_key_id", "request_id", "requested_model", "served_model", "provider", "deployment", "operation",
    *TOKEN_CLASSES, "service_tier", "usage_source", "status_code", "error_type", "is_stream", "latency_ms", "ttft_ms",
    "cost", *COST_CLASSES, "created_at",
]


def _records_store(records: list[dict]) -> None:
    """Insert the records and add them to their hours, in one transaction (plain SQL: this runs per request).

    PostgreSQL takes the batch as one COPY, at a third of the CPU and wall time of an INSERT per row.
    """
    table, columns = UsageRecord._meta.db_table, ", ".join(RECORD_COLUMNS)
    adapt = connection.ops.adapt_datetimefield_value
    rows = [[record[column] for column in RECORD_COLUMNS[:-1]] + [adapt(record["created_at"])] for record in records]
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":  # psycopg's own COPY, its errors made Django's as for any query
            with connection.wrap_database_errors, cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(RECORD_COLUMNS))})",
                               rows)
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
            row[field] += record[field] or 0  # an unpriced record adds no cost
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
