"""Usage records made storable: whatever a client or an upstream sent, the database accepts the record.

Text loses NUL characters (PostgreSQL refuses them) and what is not UTF-8 (lone surrogates, undecodable
bytes), and is cut to its column's length; numbers are whole and within their column's range; a value
that is none of these becomes the column's empty value. The tenant and key are left as they are: a
record naming ones that are gone cannot be stored, and is set aside (tenants/services.py).
"""

import functools
from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.db import connection, models
from django.utils import timezone

from .models import UsageRecord


def usage_record_clean(record: dict) -> dict:
    """A copy of `record` that every column accepts."""
    clean = dict(record)
    for name, value_clean in _cleaners():
        clean[name] = value_clean(record.get(name))
    return clean


ZERO = Decimal(0)


def usage_cost_clean(cost) -> Decimal:
    """The cost, within its column's digits (an upstream may claim any number of tokens)."""
    largest, quantum = _cost_bounds()
    try:
        return min(max(Decimal(cost), ZERO), largest).quantize(quantum)
    except (InvalidOperation, TypeError, ValueError):
        return ZERO


@functools.cache
def _cost_bounds() -> tuple[Decimal, Decimal]:
    """The largest cost the column holds, and its smallest step."""
    field = UsageRecord._meta.get_field("cost")
    quantum = Decimal(10) ** -field.decimal_places
    return Decimal(10) ** (field.max_digits - field.decimal_places) - quantum, quantum


@functools.cache
def _cleaners() -> list:
    cleaners = []
    for field in UsageRecord._meta.concrete_fields:
        if isinstance(field, models.CharField):
            cleaners.append((field.attname, functools.partial(_text, field.max_length)))
        elif isinstance(field, models.IntegerField) and not isinstance(field, models.AutoField):
            low, high = connection.ops.integer_field_range(field.get_internal_type())
            cleaners.append((field.attname, functools.partial(_whole, low, high, field.null)))
        elif isinstance(field, models.BooleanField):
            cleaners.append((field.attname, bool))
        elif isinstance(field, models.DateTimeField):
            cleaners.append((field.attname, _moment))
    return cleaners


def _text(length: int, value) -> str:
    if type(value) is str and len(value) <= length and value.isascii() and "\x00" not in value:
        return value  # as nearly every record's text is
    if value is None:
        return ""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    text = str(value)
    if "\x00" in text:
        text = text.replace("\x00", "")
    if not text.isascii():
        text = text.encode("utf-8", "replace").decode("utf-8")  # a lone surrogate becomes "?"
    return text[:length]


def _whole(low: int, high: int, null: bool, value) -> int | None:
    if type(value) is int and low <= value <= high:
        return value
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):  # None, "many", NaN, infinity
        return None if null else 0
    return min(max(number, low), high)


def _moment(value) -> datetime:
    if not isinstance(value, datetime):
        return timezone.now()
    return value if timezone.is_aware(value) else timezone.make_aware(value)
