"""How fast each console page answers with a million usage records in PostgreSQL, across 50 tenants.

    python -m bench.console_scale [--records 1000000] [--database prism_bench]

Fills the database as bench/usage_scale.py does, then times every console page as staff (every
tenant) and as the admin of one tenant sees it, and appends the table to bench/RESULTS.md.
"""

import sys

from bench.usage_scale import bench_setup, results_append, timed

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
    args, staff, member = bench_setup(__doc__.splitlines()[0])
    from django.test import Client

    from console.models import Membership, Role
    from tenants.models import Tenant, UsageRecord

    tenant = Tenant.objects.get(name="tenant-07")
    Membership.objects.update_or_create(tenant=tenant, user=member, defaults={"role": Role.ADMIN})
    record = UsageRecord.objects.filter(tenant=tenant).values_list("request_id", flat=True).first().split("-")[1]

    rows = []
    for who, user in (("staff, all tenants", staff), ("admin of one tenant", member)):
        client = Client()
        client.force_login(user)
        pages = [(view, url.format(period=period), period) for period in ("24h", "7d", "30d") for view, url in PAGES]
        pages += [(view, url.format(record=record), "") for view, url in ONCE]
        for view, url, period in pages:
            rows.append(f"| {who} | {view} | {period} | {timed(client, url):.0f} |")
            print(rows[-1], flush=True)
    results_append("Console", args, rows)


if __name__ == "__main__":
    sys.exit(main())
