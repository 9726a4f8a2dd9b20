"""Command-line options for the limits that tenants and keys share."""

from decimal import Decimal

from tenants.models import BUDGET_PERIODS


def limit_arguments(parser):
    parser.add_argument("--rpm", type=int, help="requests per minute (default: unlimited)")
    parser.add_argument("--tpm", type=int, help="tokens per minute (default: unlimited)")
    parser.add_argument("--budget", type=int, help="tokens per calendar month (default: unlimited)")
    parser.add_argument("--budget-usd", type=Decimal, metavar="DOLLARS",
                        help="US dollars per budget period, at the recorded prices (default: no dollar budget)")
    parser.add_argument("--budget-period", choices=[name for name, _ in BUDGET_PERIODS],
                        help="the dollar budget's period (default: monthly)")


def limit_fields(options) -> dict:
    """The limits given on the command line, as model fields."""
    fields = {"rpm_limit": options["rpm"], "tpm_limit": options["tpm"], "monthly_token_budget": options["budget"],
              "budget_usd": options["budget_usd"], "budget_period": options["budget_period"]}
    return {name: value for name, value in fields.items() if value is not None}
