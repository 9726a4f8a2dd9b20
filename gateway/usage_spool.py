"""Usage records on disk: each one from the moment its answer is sent until it is stored, and those refused.

Every process appends its records, one write() each and no fsync (a kill -9 loses the process's
memory, not the kernel's page cache), to files of its own in PRISM_SPOOL_DIR: the writer starts a new
file whenever it takes a batch, and deletes a file once every record in it is stored. A process holds a
lock on its own lock file while it lives; a process that starts takes over the files of processes
whose lock is free (a lock, not a pid, so that two never take the same files): it copies their records
into its own file and queue, then deletes theirs. Unique request ids make a record stored twice count once.

Records the database refuses even once cleaned (a tenant or key deleted meanwhile) are appended to
dead-letter.jsonl in the same directory, logged and counted, so that they never hold back the others.
"""

import fcntl
import json
import logging
import os
import secrets
from collections import deque
from datetime import datetime
from pathlib import Path

import orjson
from django.conf import settings
from prometheus_client import Counter

logger = logging.getLogger(__name__)

DEAD_LETTERS = Counter("prism_usage_dead_letters_total", "Usage records the database refused, kept in dead-letter.jsonl")


def record_encode(record: dict) -> bytes:
    try:
        return orjson.dumps(record) + b"\n"
    except TypeError:  # text orjson refuses (a lone surrogate), or a type it does not know
        return json.dumps(record, default=str).encode() + b"\n"


def record_decode(line: bytes) -> dict:
    record = json.loads(line)
    record["created_at"] = datetime.fromisoformat(record["created_at"])
    return record


class Segment:
    """One spool file and how many of its records are not stored yet."""

    __slots__ = ("path", "waiting")

    def __init__(self, path: Path):
        self.path, self.waiting = path, 0


class Spool:
    def __init__(self):
        self.directory = self.owner = None
        self._lock_fd = self._fd = None
        self._segments: deque[Segment] = deque()  # oldest first; the last is being written when _fd is open
        self._number = 0
        self._enabled = False

    def open(self) -> list[dict]:
        """Take this process's place in the spool directory; return the records taken over from dead processes."""
        self.directory = Path(settings.PRISM_SPOOL_DIR)
        self.owner = f"{os.getpid()}-{secrets.token_hex(4)}"
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            # Locked before it appears under its name: no starting process may think it is a dead one's.
            unlisted = self.directory / f".usage-{self.owner}.lock"
            self._lock_fd = os.open(unlisted, os.O_CREAT | os.O_RDWR, 0o600)
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
            os.rename(unlisted, self._lock_path(self.owner))
            self._enabled = True
            return self._take_over()
        except OSError:
            logger.exception("The usage spool %s is not writable: usage waits in memory only", self.directory)
            self._enabled = False
            return []

    def append(self, record: dict) -> None:
        try:
            self._write(record_encode(record))
        except OSError:  # a full disk: the records keep going to the database, from memory only
            logger.exception("The usage spool %s stopped working: usage waits in memory only", self.directory)
            self._enabled = False

    def rotate(self) -> None:
        """Write the next records to a new file, so that this one is deleted once the batch taken is stored."""
        if self._fd is not None and self._segments[-1].waiting:
            os.close(self._fd)
            self._fd = None

    def done(self, count: int) -> None:
        """The oldest `count` records are stored (or set aside): delete the files that held only them."""
        while self._segments:
            segment = self._segments[0]
            taken = min(count, segment.waiting)
            segment.waiting -= taken
            count -= taken
            if segment.waiting or (self._fd is not None and len(self._segments) == 1):
                return
            segment.path.unlink(missing_ok=True)
            self._segments.popleft()

    def close(self) -> None:
        """At exit: drop this process's files if nothing waits in them (else a later process takes them)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._lock_fd is None:
            return
        if self._enabled and not any(segment.waiting for segment in self._segments):
            for segment in self._segments:
                segment.path.unlink(missing_ok=True)
            self._segments.clear()
            self._lock_path(self.owner).unlink(missing_ok=True)
        os.close(self._lock_fd)
        self._lock_fd = None

    def _write(self, line: bytes) -> None:
        """Append one record; the files' counts follow the queue's order, so a record is counted before it is written."""
        if not self._enabled:
            return
        if self._fd is None:
            self._number += 1
            path = self.directory / f"usage-{self.owner}-{self._number:06d}.jsonl"
            self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            self._segments.append(Segment(path))
        self._segments[-1].waiting += 1
        os.write(self._fd, line)

    def _lock_path(self, owner: str) -> Path:
        return self.directory / f"usage-{owner}.lock"

    def _take_over(self) -> list[dict]:
        records = []
        for lock_path in sorted(self.directory.glob("usage-*.lock")):
            owner = lock_path.name.removeprefix("usage-").removesuffix(".lock")
            if owner == self.owner:
                continue
            try:
                lock_fd = os.open(lock_path, os.O_RDWR)
            except FileNotFoundError:  # another process just took these over
                continue
            try:
                fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:  # its process lives
                os.close(lock_fd)
                continue
            try:
                records += self._copy(sorted(self.directory.glob(f"usage-{owner}-*.jsonl")))
                lock_path.unlink(missing_ok=True)
            finally:
                os.close(lock_fd)
        if records:
            logger.warning("Took over %d usage records of processes that stopped before storing them", len(records))
        return records

    def _copy(self, paths: list[Path]) -> list[dict]:
        """The records of a dead process's files, now in this process's own (then its files go)."""
        records = []
        for path in paths:
            for line in path.read_bytes().splitlines():
                try:
                    records.append(record_decode(line))
                except (ValueError, KeyError, TypeError):  # the last line, cut by the kill
                    continue
                self._write(line + b"\n")
        if records:
            os.fsync(self._fd)
        for path in paths:
            path.unlink()
        return records


def dead_letter(refused: list[tuple[dict, str]]) -> None:
    """Set aside the records the database refused: log them, count them, keep them in dead-letter.jsonl."""
    DEAD_LETTERS.inc(len(refused))
    for record, reason in refused:
        logger.error("Usage record %s set aside in the dead letter: %s", record.get("request_id"), reason)
    lines = "".join(json.dumps({"reason": reason, "record": record}, default=str) + "\n" for record, reason in refused)
    path = Path(settings.PRISM_SPOOL_DIR) / "dead-letter.jsonl"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a") as file:
            file.write(lines)
    except OSError:
        logger.exception("Could not write %d refused usage records to %s", len(refused), path)
