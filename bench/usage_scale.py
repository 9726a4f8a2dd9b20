"""How fast the usage dashboard answers with a million usage records in PostgreSQL, across 50 tenants.

    python -m bench.usage_scale [--records 1000000] [--database prism_bench]

Creates (or reuses) the database, fills it once with records spread over the last 30 days, then
times each dashboard view, its CSV exports and /v1/usage, as a staff user sees them (every tenant)
and as one tenant's member does. Appends the table to bench/RESULTS.md.
"""

import argparse
import os
import statistics
import sys
import time

import psycopg

MODELS = ["gpt-4", "gpt-3.5-turbo", "gpt-4o-mini", "mock-1"]


def database_ensure(name: str) -> str:
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as admin:
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            admin.execute(f'CREATE DATABASE "{name}"')
    return f"postgres://postgres@127.0.0.1:5432/{name}"


def records_fill(count: int, tenants: int) -> None:
    from django.db import connection

    from tenants.models import ApiKey, UsageHour, UsageRecord
    from tenants.services import key_issue, tenant_create, usage_hours_rebuild

    if UsageRecord.objects.count() >= count:
        if not UsageHour.objects.exists():
            usage_hours_rebuild()
        return
    keys = []
    for index in range(tenants):
        tenant, _ = tenant_create(name=f"tenant-{index:02d}")
        keys.append(ApiKey.objects.filter(tenant=tenant).first() or key_issue(tenant=tenant, label="bench")[0])
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO tenants_usagerecord (tenant_id, api_key_id, request_id, requested_model, served_model,
                provider, operation, prompt_tokens, completion_tokens, total_tokens, cached_tokens,
                cache_write_tokens, reasoning_tokens, usage_source, status_code, error_type, is_stream,
                latency_ms, ttft_ms, cost, created_at)
            SELECT tenant_ids[1 + g %% %(n)s], key_ids[1 + g %% %(n)s], 'bench-' || g, model, model, 'openai_provider',
                   'chat', prompt, completion, prompt + completion, prompt / 4, 0, completion / 5, 'upstream', CASE WHEN g %% 50 = 0 THEN 500 ELSE 200 END,
                   CASE WHEN g %% 50 = 0 THEN 'server_error' ELSE '' END, g %% 3 = 0,
                   50 + (random() * 2000)::int, CASE WHEN g %% 3 = 0 THEN 20 + (random() * 300)::int END,
                   (prompt * 10 + completion * 30) / 1000000.0,
                   now() - random() * interval '30 days'
            FROM (SELECT g, %(models)s::text[] AS models, %(tenant_ids)s::bigint[] AS tenant_ids,
                         %(key_ids)s::bigint[] AS key_ids, (random() * 2000)::int AS prompt,
                         (random() * 800)::int AS completion
                  FROM generate_series(1, %(count)s) g) s, LATERAL (SELECT models[1 + g %% 4] AS model) m
            """,
            {"n": tenants, "count": count - UsageRecord.objects.count(), "models": MODELS,
             "tenant_ids": [key.tenant_id for key in keys], "key_ids": [key.id for key in keys]},
        )
        cursor.execute("ANALYZE tenants_usagerecord")
    usage_hours_rebuild()
    print(f"Filled {count} usage records in {time.monotonic() - started:.0f} s", flush=True)


def timed(client, url: str, runs: int = 3) -> float:
    durations = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(url)
        durations.append(time.perf_counter() - started)
        assert response.status_code == 200, (url, response.status_code)
    return statistics.median(durations) * 1000


def bench_setup(description: str):
    """Read the arguments, fill the database and sign-in users: (arguments, staff, a member of tenant-07)."""
    parser = argparse.ArgumentParser(description=description)
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

    from tenants.models import Tenant

    call_command("migrate", verbosity=0)
    records_fill(args.records, args.tenants)
    users = get_user_model().objects
    staff = users.filter(username="bench-staff").first() or users.create_superuser("bench-staff", password="x")
    member = users.filter(username="bench-member").first() or users.create_user("bench-member", password="x")
    Tenant.objects.get(name="tenant-07").members.add(member)
    return args, staff, member


def results_append(title: str, args, rows: list[str]) -> None:
    report = "\n".join([
        f"## {title} at scale, {time.strftime('%Y-%m-%d')}: {args.records:,} records, {args.tenants} tenants, PostgreSQL",
        "", "| who | view | period | median ms (3 runs) |", "|---|---|---|---|", *rows,
    ])
    print(report)
    with open(os.path.join(os.path.dirname(__file__), "RESULTS.md"), "a") as results:
        results.write("\n" + report + "\n")


def main():
    args, staff, member = bench_setup(__doc__.splitlines()[0])
    from django.test import Client

    rows = []
    for who, user in (("staff, all tenants", staff), ("member of one tenant", member)):
        client = Client()
        client.force_login(user)
        for period in ("24h", "7d", "30d"):
            for view, url in (("dashboard page", f"/dashboard/?period={period}"),
                              ("CSV by key", f"/dashboard/export/by_key.csv?period={period}"),
                              ("/v1/usage", f"/v1/usage?period={period}")):
                rows.append(f"| {who} | {view} | {period} | {timed(client, url):.0f} |")
                print(rows[-1], flush=True)
    results_append("Dashboard", args, rows)


if __name__ == "__main__":
    sys.exit(main())
