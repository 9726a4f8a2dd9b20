"""Import a price table (YAML or JSON; the format is in tenants/prices.yml), so prices change without a release."""

from decimal import Decimal, InvalidOperation
from pathlib import Path

import yaml
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from tenants.models import ModelPrice

SHIPPED = Path(__file__).resolve().parents[2] / "prices.yml"
PRICES = {
    "input": "input_per_million", "output": "output_per_million", "cached_input": "cached_input_per_million",
    "cache_write_5m": "cache_write_5m_per_million", "cache_write_1h": "cache_write_1h_per_million",
    "reasoning": "reasoning_per_million", "audio_input": "audio_input_per_million",
    "audio_output": "audio_output_per_million", "batch": "batch_multiplier", "flex": "flex_multiplier",
    "priority": "priority_multiplier",
}


def price_fields(model: str, row) -> dict:
    """ModelPrice's fields for one row of the table; a class left out takes its default."""
    if not isinstance(row, dict) or "input" not in row or "output" not in row:
        raise CommandError(f"{model}: give at least input and output prices")
    unknown = set(row) - set(PRICES) - {"max_output_tokens"}
    if unknown:
        raise CommandError(f"{model}: unknown {', '.join(sorted(unknown))}")
    fields = {field: ModelPrice._meta.get_field(field).get_default() for field in PRICES.values()}
    for name, value in row.items():
        if name == "max_output_tokens":
            continue
        try:
            fields[PRICES[name]] = Decimal(str(value))
        except InvalidOperation:
            raise CommandError(f"{model}: {name} is not a number: {value!r}") from None
        if fields[PRICES[name]] < 0:
            raise CommandError(f"{model}: {name} is negative")
    cap = row.get("max_output_tokens")
    if cap is not None and (type(cap) is not int or cap < 0):
        raise CommandError(f"{model}: max_output_tokens is not a whole number")
    return {**fields, "max_output_tokens": cap}


class Command(BaseCommand):
    help = "Create or update model prices from a YAML or JSON table (default: the shipped tenants/prices.yml)."

    def add_arguments(self, parser):
        parser.add_argument("file", nargs="?", default=str(SHIPPED))
        parser.add_argument("--keep", action="store_true",
                            help="leave the prices already set as they are (the quickstart's first setup)")

    def handle(self, *args, file, keep=False, **options):
        try:
            table = yaml.safe_load(Path(file).read_text())
        except (OSError, yaml.YAMLError) as error:
            raise CommandError(f"Cannot read {file}: {error}") from None
        models = table.get("models") if isinstance(table, dict) else None
        if not isinstance(models, dict):
            raise CommandError(f"{file} has no `models:` mapping of model-name prefixes to prices")
        rows = {str(model): price_fields(str(model), row) for model, row in models.items()}
        with transaction.atomic():
            for model, fields in rows.items():
                store = ModelPrice.objects.get_or_create if keep else ModelPrice.objects.update_or_create
                store(model_prefix=model, defaults=fields)
        self.stdout.write(f"Loaded prices for {len(rows)} model prefixes from {file}.")
