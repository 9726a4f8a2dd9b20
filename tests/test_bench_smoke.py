"""The benchmark's smoke mode, so the harness keeps working (no timing is asserted)."""

import os
import subprocess
import sys

from prism_site.settings import BASE_DIR
from tests.conftest import database_url_of_tests


def test_the_benchmark_runs_and_every_request_is_recorded(transactional_db):
    env = {**os.environ, "DATABASE_URL": database_url_of_tests()}  # the test database, never a real one
    run = subprocess.run([sys.executable, "-m", "bench.run", "--smoke"], cwd=BASE_DIR, env=env,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "Usage records:" in run.stdout and "| requests, 32 concurrent | prism uvicorn |" in run.stdout
