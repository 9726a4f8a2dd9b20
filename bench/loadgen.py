"""An async load generator: N concurrent clients, per-request latency and time to first byte, percentiles."""

import asyncio
import statistics
import time
from dataclasses import dataclass, field

import aiohttp


@dataclass
class Result:
    requests: int = 0
    errors: int = 0
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)
    first_bytes: list[float] = field(default_factory=list)
    peak_rss_kib: int = 0

    @property
    def rate(self) -> float:
        return self.requests / self.elapsed if self.elapsed else 0.0

    def latency(self, q: float) -> float:
        return percentile(self.latencies, q)

    def first_byte(self, q: float) -> float:
        return percentile(self.first_bytes, q)


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) in milliseconds, by the nearest-rank method."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))] * 1000


async def load(url: str, body: bytes, *, key: str, concurrency: int, requests: int | None = None,
               duration: float | None = None, stream: bool = False) -> Result:
    """Send `requests` requests (or as many as fit in `duration` seconds) from `concurrency` clients."""
    result = Result()
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    remaining = [requests if requests is not None else float("inf")]
    deadline = time.perf_counter() + duration if duration else float("inf")
    connector = aiohttp.TCPConnector(limit=0, force_close=False)
    timeout = aiohttp.ClientTimeout(total=120)

    async def client(session):
        while remaining[0] > 0 and time.perf_counter() < deadline:
            remaining[0] -= 1
            started = time.perf_counter()
            try:
                async with session.post(url, data=body, headers=headers) as response:
                    if stream:
                        first = None
                        async for _ in response.content.iter_any():
                            first = first or time.perf_counter()
                        result.first_bytes.append((first or time.perf_counter()) - started)
                    else:
                        await response.read()
                    ok = response.status == 200
            except aiohttp.ClientError:
                ok = False
            result.latencies.append(time.perf_counter() - started)
            result.requests += 1
            result.errors += not ok

    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        began = time.perf_counter()
        await asyncio.gather(*(client(session) for _ in range(concurrency)))
        result.elapsed = time.perf_counter() - began
    return result


def summary(result: Result) -> str:
    return (f"{result.requests} requests, {result.errors} errors, {result.rate:.0f}/s, "
            f"p50 {result.latency(50):.2f} ms, p99 {result.latency(99):.2f} ms, "
            f"mean {statistics.fmean(result.latencies) * 1000 if result.latencies else 0:.2f} ms")
