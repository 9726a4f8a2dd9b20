"""How fast each console page answers with a million usage records in PostgreSQL, across 50 tenants.

    python -m bench.console_scale [--records 1000000] [--database prism_bench]

Fills the database as bench/usage_scale.py does, then times every console page as staff (every
tenant) and as the admin of one tenant sees it, and appends the table to bench/RESULTS.md.
"""

import argparse
import os
import sys
import time

from bench.usage_scale import database_ensure, records_fill, timed

PAGES = [
    ("usage: requests by model", "/console/?period={period}"),
    ("usage: tokens by class", "/console/?period={period}&metric=tokens&split=class"),
    ("usage: cost by key", "/console/?period={period}&metric=cost&split=key"),
    ("usage: error rate by model", "/console/?period={period}&metric=errors&split=model"),
    ("usage: latency p50/p95", "/console/?period={period}&metric=latency"),
    ("usage: time to first token", "/console/?period={period}&metric=ttft"),
    ("usage: requests by status, streams only", "/console/?period={period}&split=status&stream=yes"),
    ("requests, newest first", "/console/requests/?period={period}"),
    ("requests, slowest first", "/console/requests/?period={period}&sort=-latency"),
]
ONCE = [("one request", "/console/requests/bench-{record}/"), ("keys", "/console/keys/"),
        ("members", "/console/members/"), ("audit trail", "/console/audit/")]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--tenants", type=int, default=50)
    parser.add_argument("--database", default="prism_bench")
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = database_ensure(args.database)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "prism_site.settings")
    os.environ.update({"DEBUG": "1", "ALLOWED_HOSTS": "testserver"})
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client

    from console.models import Membership, Role
    from tenants.models import Tenant, UsageRecord

    call_command("migrate", verbosity=0)
    records_fill(args.records, args.tenants)
    users = get_user_model().objects
    staff = users.filter(username="bench-staff").first() or users.create_superuser("bench-staff", password="x")
    admin = users.filter(username="bench-admin").first() or users.create_user("bench-admin", password="x")
    tenant = Tenant.objects.get(name="tenant-07")
    Membership.objects.get_or_create(tenant=tenant, user=admin, defaults={"role": Role.ADMIN})
    record = UsageRecord.objects.filter(tenant=tenant).values_list("request_id", flat=True).first().split("-")[1]

    rows = []
    for who, user in (("staff, all tenants", staff), ("admin of one tenant", admin)):
        client = Client()
        client.force_login(user)
        pages = [(view, url.format(period=period), period) for period in ("24h", "7d", "30d") for view, url in PAGES]
        pages += [(view, url.format(record=record), "") for view, url in ONCE]
        for view, url, period in pages:
            rows.append(f"| {who} | {view} | {period} | {timed(client, url):.0f} |")
            print(rows[-1], flush=True)
    report = "\n".join([
        f"## Console at scale, {time.strftime('%Y-%m-%d')}: {args.records:,} records, {args.tenants} tenants, PostgreSQL",
        "", "| who | page | period | median ms (3 runs) |", "|---|---|---|---|", *rows,
    ])
    print(report)
    with open(os.path.join(os.path.dirname(__file__), "RESULTS.md"), "a") as results:
        results.write("\n" + report + "\n")


if __name__ == "__main__":
    sys.exit(main())
