"""The README's scripts as a new user runs them: scripts/run.sh, then scripts/manage.sh, in a copy of the repository."""

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import httpx2 as httpx
import pytest

from bench.servers import ROOT, free_port

# What a fresh shell has: no test settings, no keys.
USER_ENV = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root"), "LANG": "C.UTF-8"}


@pytest.fixture
def clone(tmp_path):
    """The repository's files as they are now, with this checkout's .venv (so nothing is installed again)."""
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True,
                           text=True, check=True).stdout.split()
    for name in files:
        if (ROOT / name).is_file():
            (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, tmp_path / name)
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")
    return tmp_path


def run_script(clone, *args, **env) -> subprocess.CompletedProcess:
    return subprocess.run([str(clone / "scripts" / args[0]), *args[1:]], env={**USER_ENV, **env}, cwd=clone,
                          capture_output=True, text=True, timeout=120)


def test_run_sh_on_a_port_in_use_says_so_before_anything_else(clone):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_script(clone, "run.sh", PORT=str(port))
    assert result.returncode == 1
    assert f"Port {port} on 127.0.0.1 is in use" in result.stderr and "PORT=8001 scripts/run.sh" in result.stderr
    assert "curl" not in result.stdout + result.stderr and "==>" not in result.stderr
    assert not (clone / ".env").exists() and not (clone / "db.sqlite3").exists()


@pytest.fixture
def quickstart(clone):
    """scripts/run.sh serving on a free PORT; yields (base URL, its output so far)."""
    port = free_port()
    output = tempfile.TemporaryFile()
    process = subprocess.Popen([str(clone / "scripts" / "run.sh")], env={**USER_ENV, "PORT": str(port)}, cwd=clone,
                               stdout=output, stderr=subprocess.STDOUT, start_new_session=True)

    def read() -> str:
        output.seek(0)
        return output.read().decode()

    deadline = time.monotonic() + 90
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert process.poll() is None and time.monotonic() < deadline, f"run.sh did not serve:\n{read()}"
        time.sleep(0.2)
    yield f"http://127.0.0.1:{port}", read
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(30)


def test_run_sh_shows_its_steps_serves_and_names_the_dashboard(quickstart, clone):
    url, output = quickstart
    text = output()
    steps = [line for line in text.splitlines() if line.startswith("==> ")]
    assert steps[-2:] == ["==> Migrating the SQLite database db.sqlite3", "==> Creating the demo tenant, key and admin user"]
    assert f"Console:    {url}/console/" in text and f"Admin:      {url}/admin/" in text
    key = re.search(r"Demo key:\s+(\S+)", text).group(1)
    curl = re.search(r"curl .*?'\n", text, re.S).group(0)
    assert '"model": "mock-1"' in curl  # no OPENAI_API_KEY: the model that answers offline
    answer = httpx.post(f"{url}/v1/chat/completions", headers={"Authorization": f"Bearer {key}"},
                        json={"model": "mock-1", "messages": [{"role": "user", "content": "Hello, Prism!"}]})
    assert answer.status_code == 200 and answer.json()["choices"][0]["message"]["content"]
    assert "Prism" in httpx.get(f"{url}/").text


def test_manage_sh_runs_the_readmes_commands_in_the_venv(clone):
    assert run_script(clone, "manage.sh", "migrate", "--noinput", "-v0", DEBUG="1").returncode == 0
    created = run_script(clone, "manage.sh", "createtenant", "acme", DEBUG="1")
    assert created.returncode == 0 and created.stdout == "Created: tenant acme\n"
    issued = run_script(clone, "manage.sh", "issuekey", "acme", "--name", "ci", "--expires-in", "90",
                        "--models", "gpt-4,mock-*", DEBUG="1")
    assert issued.returncode == 0 and re.fullmatch(r"prism-\w+-\S+\n", issued.stdout)
    listed = run_script(clone, "manage.sh", "listkeys", "acme", DEBUG="1")
    assert issued.stdout.split("-")[1] in listed.stdout and "active" in listed.stdout
