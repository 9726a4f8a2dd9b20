"""The benchmark's smoke mode, so the harness keeps working (no timing is asserted)."""

import os
import subprocess
import sys

import psycopg
import redis

from prism_site.settings import BASE_DIR
from tests.conftest import REQUIRE_SERVICES, database_url_of_tests


def services_up() -> bool:
    """The features-on targets need the machine's PostgreSQL and Redis (CI requires them)."""
    try:
        psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", connect_timeout=3).close()
        redis.Redis.from_url("redis://127.0.0.1:6379/0").ping()
    except (psycopg.Error, redis.RedisError):
        return REQUIRE_SERVICES
    return True


def test_the_benchmark_runs_and_every_request_is_recorded(transactional_db):
    env = {**os.environ, "DATABASE_URL": database_url_of_tests()}  # the test database, never a real one
    features = services_up()
    run = subprocess.run([sys.executable, "-m", "bench.run", "--smoke", *([] if features else ["--no-features"])],
                         cwd=BASE_DIR, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "Usage records:" in run.stdout and "| requests, 32 concurrent | prism uvicorn |" in run.stdout
    assert not features or "| requests, 32 concurrent | prism uvicorn, features on |" in run.stdout
