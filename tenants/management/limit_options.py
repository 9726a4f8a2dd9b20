"""Command-line options for the limits that tenants and keys share."""


def limit_arguments(parser):
    parser.add_argument("--rpm", type=int, help="requests per minute (default: unlimited)")
    parser.add_argument("--tpm", type=int, help="tokens per minute (default: unlimited)")
    parser.add_argument("--budget", type=int, help="tokens per calendar month (default: unlimited)")


def limit_fields(options) -> dict:
    """The limits given on the command line, as model fields."""
    fields = {"rpm_limit": options["rpm"], "tpm_limit": options["tpm"], "monthly_token_budget": options["budget"]}
    return {name: value for name, value in fields.items() if value is not None}
