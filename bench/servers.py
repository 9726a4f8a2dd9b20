"""Server processes on loopback ports, for the benchmark and for the tests that run Prism as users do."""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """A command serving on a free port (`{port}` in its arguments), started and waited for; SIGTERM stops it."""

    def __init__(self, name: str, command: list, env: dict):
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.output = tempfile.TemporaryFile()  # not a pipe: a full pipe would stall the server
        self.process = subprocess.Popen(
            [str(arg).replace("{port}", str(self.port)) for arg in command],
            env={**os.environ, **env}, cwd=ROOT, stdout=self.output, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{name} did not start:\n{self.read_output()}")
                time.sleep(0.1)

    def read_output(self) -> str:
        self.output.seek(0)
        return self.output.read().decode()

    def _pids(self) -> list[int]:
        """The process and its children (uvicorn's workers)."""
        children = subprocess.run(["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True).stdout
        return [self.process.pid] + [int(pid) for pid in children.split()]

    def rss_kib(self) -> int:
        """Resident memory of the process and its children."""
        total = 0
        for pid in self._pids():
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        return total

    def cpu_seconds(self) -> float:
        """CPU time, user and system, that the process and its children have used so far."""
        ticks = 0
        for pid in self._pids():
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
        return ticks / os.sysconf("SC_CLK_TCK")

    def stop(self, sig=signal.SIGTERM) -> int:
        self.process.send_signal(sig)
        return self.process.wait(30)
