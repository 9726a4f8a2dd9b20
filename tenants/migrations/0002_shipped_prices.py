from decimal import Decimal

from django.db import migrations

# US dollars per million input and output tokens, as OpenAI lists them (staff edit them in the admin).
PRICES = {
    "gpt-4": ("30", "60"),
    "gpt-4-32k": ("60", "120"),
    "gpt-4-turbo": ("10", "30"),
    "gpt-4-0125": ("10", "30"),
    "gpt-4-1106": ("10", "30"),
    "gpt-4o": ("2.50", "10"),
    "gpt-4o-mini": ("0.15", "0.60"),
    "gpt-3.5-turbo": ("0.50", "1.50"),
    "gpt-3.5-turbo-16k": ("3", "4"),
    "mock": ("0", "0"),
}


def add_prices(apps, schema_editor):
    ModelPrice = apps.get_model("tenants", "ModelPrice")
    for prefix, (input_price, output_price) in PRICES.items():
        ModelPrice.objects.get_or_create(
            model_prefix=prefix,
            defaults={"input_per_million": Decimal(input_price), "output_per_million": Decimal(output_price)},
        )


class Migration(migrations.Migration):
    dependencies = [("tenants", "0001_initial")]
    operations = [migrations.RunPython(add_prices, migrations.RunPython.noop)]
