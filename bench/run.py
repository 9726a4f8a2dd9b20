"""Benchmark Prism against the upstream called directly and a bare pass-through, in one run, as ratios.

Starts the mock upstream, the bare pass-through (uvicorn) and Prism (daphne and uvicorn, one process
each, on SQLite with no limits, and again "features on": PostgreSQL, Redis, limits and budgets in tokens
and dollars on the key and its tenant, chat over two deployments; then uvicorn with 2 workers) on
loopback ports, runs the scenarios of the performance issue against each, prints a table of absolute
numbers and ratios to the pass-through, checks that Prism stored one usage record per request, and
appends the table to bench/RESULTS.md.

    python -m bench.run            # the full run, a few minutes
    python -m bench.run --smoke    # a few hundred requests, to keep the harness working (CI)
"""

import argparse
import asyncio
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile

from bench.loadgen import Result, load, summary
from bench.servers import BIN, ROOT, Server
from bench.usage_scale import database_ensure
MESSAGES = [{"role": "user", "content": "Say twenty words."}]
WARM_UP = 50  # requests per target before each scenario (5 in a smoke run)


def manage(env: dict, *args: str) -> str:
    return subprocess.run([BIN / "python", "manage.py", *args], env={**os.environ, **env}, cwd=ROOT,
                          capture_output=True, text=True, check=True).stdout


def bench_key(env: dict, *limits: str) -> str:
    """A fresh tenant and key in the database `env` names (migrated first), with the limits given."""
    manage(env, "migrate", "--noinput", "-v0")
    tenant = f"bench-{os.getpid()}"
    manage(env, "createtenant", tenant, *limits)
    return manage(env, "issuekey", tenant, *limits).splitlines()[-1]


def usage_count(env: dict) -> int:
    """The usage records of this run's tenant (a database may hold others, or be shared by another run)."""
    return int(manage(env, "shell", "-v", "0", "-c", "from tenants.models import UsageRecord as U; "
                      f"print(U.objects.filter(tenant__name='bench-{os.getpid()}').count())"))


def body(model: str, stream: bool) -> bytes:
    return json.dumps({"model": model, "messages": MESSAGES, "stream": stream}).encode()


# The other doors: (path, body) by operation, each timed like chat at 32 (whole) or 16 (streamed) concurrent.
DOORS = {
    "embeddings": ("/embeddings", json.dumps({"model": "text-embedding-3-small", "input": MESSAGES[0]["content"]})),
    "responses": ("/responses", json.dumps({"model": "gpt-4o", "input": MESSAGES[0]["content"]})),
    "responses stream": ("/responses", json.dumps({"model": "gpt-4o", "input": MESSAGES[0]["content"],
                                                   "stream": True})),
}


async def scenarios(targets: dict[str, tuple[Server | None, str, str]], *, seconds: float, slow: int, rounds: int,
                    warm_up: int):
    """Each scenario against each target; returns {scenario: {target: Result}} and every (target, Result) run.

    The slow streams run `rounds` times, the targets taking turns, and each target keeps its median
    round by p99: one burst's p99 moves with whatever else this machine does at that moment.
    """
    results, every_run = {}, []
    chat = "/chat/completions"
    plan = [  # (scenario, load options, path, body, stream, rounds); the last one also measures memory
        ("latency, 1 concurrent", dict(concurrency=1, duration=seconds), chat, body("gpt-4", False), False, 1),
        ("first token, 1 concurrent", dict(concurrency=1, duration=seconds), chat, body("gpt-4", True), True, 1),
        ("requests, 32 concurrent", dict(concurrency=32, duration=seconds), chat, body("gpt-4", False), False, 1),
        ("streams, 16 concurrent", dict(concurrency=16, duration=seconds), chat, body("gpt-4", True), True, 1),
        *((f"{door}, {16 if 'stream' in door else 32} concurrent",
           dict(concurrency=16 if "stream" in door else 32, duration=seconds), path, door_body.encode(),
           "stream" in door, 1) for door, (path, door_body) in DOORS.items()),
        (f"{slow} slow streams (100 ms/token)", dict(concurrency=slow, requests=slow), chat,
         body("gpt-delay-100", True), True, rounds),
    ]
    for scenario, options, path, request, stream, scenario_rounds in plan:
        runs = {name: [] for name in targets}
        for _ in range(scenario_rounds):
            for name, (server, url, key) in targets.items():
                # Fills connection pools and caches, without the slow model's wait.
                warm_body = request if path != chat else body("gpt-4", stream)
                await load(url + path, warm_body, key=key, concurrency=4, requests=warm_up, stream=stream)
                sampler = RssSampler(server) if server and scenario == plan[-1][0] else None
                result = await load(url + path, request, key=key, stream=stream, **options)
                result.peak_rss_kib = sampler.stop() if sampler else 0
                runs[name].append(result)
                every_run.append((name, result))
                print(f"  {scenario:34} {name:20} {summary(result)}", flush=True)
        results[scenario] = {name: _median_round(found) for name, found in runs.items()}
    return results, every_run


def _median_round(runs: list[Result]) -> Result:
    median = sorted(runs, key=lambda result: result.latency(99))[len(runs) // 2]
    median.peak_rss_kib = max(result.peak_rss_kib for result in runs)
    return median


class RssSampler:
    """The peak memory of a server while a scenario runs, sampled every 100 ms."""

    def __init__(self, server: Server):
        self.server = server
        self.peak = server.rss_kib()
        self.task = asyncio.create_task(self._sample())

    async def _sample(self):
        while True:
            await asyncio.sleep(0.1)
            self.peak = max(self.peak, self.server.rss_kib())

    def stop(self) -> int:
        self.task.cancel()
        return self.peak


def table(results, baseline: str, idle_rss: dict[str, int], slow: int) -> str:
    lines = ["| scenario | target | rate/s | p50 ms | p99 ms | TTFB p50 ms | rate × pass-through | p50 × pass-through "
             "| TTFB p50 × pass-through | p99 × direct |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for scenario, by_target in results.items():
        base, direct = by_target[baseline], by_target["direct"]
        for name, result in by_target.items():
            ttfb = f"{result.first_byte(50):.2f}" if result.first_bytes else ""
            ttfb_ratio = f"{result.first_byte(50) / base.first_byte(50):.2f}" if result.first_bytes else ""
            lines.append(
                f"| {scenario} | {name} | {result.rate:.0f} | {result.latency(50):.2f} | {result.latency(99):.2f} | "
                f"{ttfb} | {result.rate / base.rate:.2f} | {result.latency(50) / base.latency(50):.2f} | "
                f"{ttfb_ratio} | {result.latency(99) / direct.latency(99):.2f} |"
            )
    slow_results = list(results.values())[-1]
    memory = [f"- {name}: {(r.peak_rss_kib - idle_rss[name]) / slow:.1f} KiB per open stream "
              f"(idle {idle_rss[name] / 1024:.0f} MiB, peak {r.peak_rss_kib / 1024:.0f} MiB)"
              for name, r in slow_results.items() if r.peak_rss_kib]
    return "\n".join(lines + ["", "Memory while the slow streams were open:"] + memory)


FEATURES_CONFIG = """
prefix_map: {{gpt: openai_provider, text-embedding: openai_provider}}
deployments:
  - {{name: east, provider: openai_provider, base_url: "{url}", weight: 1}}
  - {{name: west, provider: openai_provider, base_url: "{url}", weight: 1}}
models:
  gpt-4: {{groups: [[east, west]]}}
"""

DEPLOYMENTS_CONFIG = """
prefix_map: {{gpt: openai_provider}}
deployments:
  - {{name: one, provider: openai_provider, base_url: "{url}", weight: 1}}
  - {{name: two, provider: openai_provider, base_url: "{url}", weight: 2}}
  - {{name: three, provider: openai_provider, base_url: "{url}", weight: 1}}
models:
  gpt-4o: {{groups: [[one, two, three]]}}
"""


def deployments_cpu(env: dict, workdir: str, key: str, seconds: float) -> tuple[dict[str, tuple[Result, float]], int]:
    """CPU-seconds per request, one Prism process at 32 concurrent: chat to one provider (gpt-4, as today),
    then through a route over three deployments (gpt-4o), taking turns three times; the median of each, and
    the number of requests sent."""
    config = os.path.join(workdir, "deployments.yml")
    with open(config, "w") as config_file:
        config_file.write(DEPLOYMENTS_CONFIG.format(url=env["UPSTREAM_URL"]))
    uvicorn = [BIN / "uvicorn", "--port", "{port}", "--no-access-log", "--log-level", "warning"]
    server = Server("prism deployments", uvicorn + ["prism_site.asgi:application"], {**env, "PRISM_ROUTER_CONFIG": config})
    url = server.url + "/v1/chat/completions"
    runs = {"one provider": [], "three deployments": []}
    try:
        for model in ("gpt-4", "gpt-4o"):
            asyncio.run(load(url, body(model, False), key=key, concurrency=8, requests=200))
        for _ in range(3):
            for name, model in (("one provider", "gpt-4"), ("three deployments", "gpt-4o")):
                cpu_before = server.cpu_seconds()
                result = asyncio.run(load(url, body(model, False), key=key, concurrency=32, duration=seconds))
                runs[name].append((result, (server.cpu_seconds() - cpu_before) / max(result.requests, 1)))
    finally:
        server.stop()
    found = {name: sorted(measured, key=lambda run: run[1])[1] for name, measured in runs.items()}
    for name, (result, cpu) in found.items():
        print(f"  {name}: {summary(result)}, {cpu * 1e6:.0f} µs CPU per request", flush=True)
    return found, 400 + sum(result.requests for measured in runs.values() for result, _ in measured)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="a short run that only checks the harness works")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each timed scenario")
    parser.add_argument("--slow-streams", type=int, default=500)
    parser.add_argument("--slow-rounds", type=int, default=3, help="bursts of slow streams per target (median kept)")
    parser.add_argument("--no-record", action="store_true", help="do not append to bench/RESULTS.md")
    # One per checkout: a branch with a migration more than another's would leave that one a schema it cannot use.
    parser.add_argument("--features-database", default=f"prism_bench_{ROOT.name}", metavar="NAME",
                        help="the local PostgreSQL database of the features-on targets (made if missing)")
    parser.add_argument("--features-redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--no-features", action="store_true", help="leave out the features-on targets")
    args = parser.parse_args()
    seconds, slow, rounds = (0.25, 20, 1) if args.smoke else (args.seconds, args.slow_streams, args.slow_rounds)
    warm_up = 5 if args.smoke else WARM_UP

    workdir = tempfile.mkdtemp(prefix="prism-bench-")
    upstream = Server("upstream", [BIN / "python", "-m", "providers.mock_upstream", "--port", "{port}", "--tokens", "20"], {})
    env = {
        "DEBUG": "0", "SECRET_KEY": "bench", "PRISM_KEY_PEPPER": "bench", "LOG_LEVEL": "WARNING", "PRISM_REQUEST_LOG": "0",
        "DATABASE_URL": os.environ.get("DATABASE_URL", f"sqlite:///{workdir}/bench.sqlite3"),
        "OPENAI_BASE_URL": upstream.url + "/v1", "OPENAI_API_KEY": "sk-bench", "UPSTREAM_URL": upstream.url + "/v1",
    }
    key = bench_key(env)
    # Features on, as teams run Prism: PostgreSQL, Redis, limits and budgets in tokens and dollars on the key
    # and its tenant that every request is counted against (high enough never to refuse one), at the
    # shipped prices, and chat routed over two deployments.
    features = features_key = None
    if not args.no_features:
        features_config = os.path.join(workdir, "features.yml")
        with open(features_config, "w") as config_file:
            config_file.write(FEATURES_CONFIG.format(url=env["UPSTREAM_URL"]))
        features = {**env, "DATABASE_URL": database_ensure(args.features_database), "REDIS_URL": args.features_redis,
                    "PRISM_COUNTER_PREFIX": f"bench-{os.getpid()}", "PRISM_ROUTER_CONFIG": features_config}
        features_key = bench_key(features, "--rpm", "100000000", "--tpm", "2000000000",
                                 "--budget", "10000000000000", "--budget-usd", "1000000000")
        manage(features, "loadprices", "--keep", "-v0")

    uvicorn = [BIN / "uvicorn", "--port", "{port}", "--no-access-log", "--log-level", "warning"]
    # Daphne as the README runs it. Twisted listens with a backlog of 50 unless told otherwise: 500
    # streams at once would overflow it.
    daphne = [BIN / "python", "-m", "prism_site.serve_daphne", "-v", "0",
              "-e", "tcp:port={port}:interface=127.0.0.1:backlog=4096"]
    servers = {  # the pass-through under daphne shows what daphne itself costs
        "pass-through": (Server("pass-through", uvicorn + ["bench.passthrough:app"], env), key),
        "pass-through daphne": (Server("pass-through daphne", daphne + ["bench.passthrough:app"], env), key),
        "prism daphne": (Server("prism daphne", daphne + ["prism_site.asgi:application"], env), key),
        "prism uvicorn": (Server("prism uvicorn", uvicorn + ["prism_site.asgi:application"], env), key),
    }
    if features:
        servers |= {
            "prism daphne, features on": (Server("prism daphne features", daphne + ["prism_site.asgi:application"],
                                                 features), features_key),
            "prism uvicorn, features on": (Server("prism uvicorn features",
                                                  uvicorn + ["prism_site.asgi:application"], features), features_key),
        }
    targets = {"direct": (None, upstream.url + "/v1", key),
               **{name: (server, server.url + "/v1", server_key) for name, (server, server_key) in servers.items()}}
    try:
        idle = {name: server.rss_kib() for name, (server, _) in servers.items()}
        print(f"Benchmark, {seconds} s per scenario, {slow} slow streams × {rounds} rounds", flush=True)
        results, every_run = asyncio.run(scenarios(targets, seconds=seconds, slow=slow, rounds=rounds,
                                                             warm_up=warm_up))
        workers, cores = {}, {}  # cores: the CPU the workers used, as cores busy during the run
        for count in (1, 2):
            server = Server(f"prism uvicorn ×{count}", uvicorn + ["--workers", str(count), "prism_site.asgi:application"], env)
            url = server.url + "/v1/chat/completions"
            asyncio.run(load(url, body("gpt-4", False), key=key, concurrency=8, requests=200))
            cpu_before = server.cpu_seconds()
            workers[count] = asyncio.run(load(url, body("gpt-4", False), key=key, concurrency=32, duration=seconds))
            cores[count] = (server.cpu_seconds() - cpu_before) / workers[count].elapsed
            print(f"  uvicorn --workers {count}: {summary(workers[count])}, {cores[count]:.2f} cores", flush=True)
            server.stop()
        deployments, deployments_sent = deployments_cpu(env, workdir, key, seconds)
    finally:
        for server, _ in servers.values():
            server.stop()
        upstream.stop()

    sent = sum(warm_up + result.requests for name, result in every_run if name.startswith("prism"))
    sent += sum(r.requests + 200 for r in workers.values())
    sent += deployments_sent
    stored = usage_count(env) + (usage_count(features) if features else 0)
    report = "\n".join([
        f"## {datetime.date.today()} on {platform.node()} ({os.cpu_count()} cores, Python {platform.python_version()})"
        + (" — smoke run" if args.smoke else ""),
        "",
        table(results, "pass-through", idle, slow),
        "",
        "Prism under uvicorn, 32 concurrent, by worker processes: "
        + ", ".join(f"{n}: {r.rate:.0f}/s on {cores[n]:.2f} cores ({r.rate / cores[n]:.0f} per CPU-second)"
                    for n, r in workers.items()),
        "",
        "Chat through a route over three deployments, one uvicorn process, 32 concurrent (median of 3 runs): "
        + ", ".join(f"{name}: {result.rate:.0f}/s, {cpu * 1e6:.0f} µs CPU per request"
                    for name, (result, cpu) in deployments.items())
        + f" ({deployments['three deployments'][1] / deployments['one provider'][1] - 1:+.1%} CPU per request).",
        "",
        f"Usage records: {stored} stored for {sent} requests sent to Prism.",
    ])
    print("\n" + report)
    if not args.smoke and not args.no_record:
        with open(ROOT / "bench" / "RESULTS.md", "a") as results_file:
            results_file.write("\n" + report + "\n")
    failed = sum(result.errors for _, result in every_run) + sum(r.errors for r in workers.values())
    if stored != sent or failed:
        sys.exit(f"{failed} requests failed; {stored} usage records for {sent} requests")


if __name__ == "__main__":
    main()
