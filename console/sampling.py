"""Reading a large selection of usage records from a sample of the table, so that a page stays fast.

Hourly totals answer most of the console exactly. What only the records hold (percentiles, token
classes, the operation, status and stream filters) is read from all of them while they are few,
and from a share of the table's pages (PostgreSQL's TABLESAMPLE SYSTEM) when the selection holds
more than SAMPLE_ABOVE requests and reading the sample costs less; sums are then scaled up and the page says it shows an estimate.
"""

from datetime import UTC, datetime

from django.db import connection
from django.db.models import Sum

from tenants.models import UsageRecord

SAMPLE_ABOVE = 20_000


def selection_size(hours) -> int:
    """How many requests a selection holds at most, by its hourly totals (which ignore the records-only filters)."""
    return hours.aggregate(requests=Sum("requests"))["requests"] or 0


def sample_share(requests: int) -> float:
    """The share of the records to read for a selection of `requests`: 1 reads them all.

    A sample is read from the whole table, so it pays only when it reads fewer rows than the selection has.
    """
    if connection.vendor != "postgresql" or requests <= SAMPLE_ABOVE:
        return 1.0
    share = SAMPLE_ABOVE / requests
    return share if share * _table_rows() < requests else 1.0


def _table_rows() -> float:
    """PostgreSQL's own estimate of the records table's size, kept by ANALYZE (free to read)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [UsageRecord._meta.db_table])
        return max(cursor.fetchone()[0], 0)


def rows_read(queryset, share: float) -> list[dict]:
    """The rows of a values() queryset of records, read from `share` of the table's pages."""
    if share >= 1:
        return list(queryset)
    sql, params = queryset.query.sql_with_params()
    table = connection.ops.quote_name(UsageRecord._meta.db_table)
    # REPEATABLE: the same pages every time, so that a reloaded page shows the same estimate.
    sql = sql.replace(f"FROM {table}", f"FROM {table} TABLESAMPLE SYSTEM ({share * 100:.6f}) REPEATABLE (0)", 1)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [column.name for column in cursor.description]
        return [{name: _aware(value) for name, value in zip(names, row)} for row in cursor.fetchall()]


def _aware(value):
    """Django makes truncated times aware; a raw cursor leaves them naive (they are UTC)."""
    return value.replace(tzinfo=UTC) if isinstance(value, datetime) and value.tzinfo is None else value


def scaled(row: dict, share: float, fields) -> dict:
    """Sums read from a sample, scaled up to the whole selection."""
    if share < 1:
        for name in fields:
            row[name] = type(row[name])(float(row[name]) / share) if row[name] else row[name]
    return row
