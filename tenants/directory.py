"""The process's cache of keys and routing rules, so the hot path makes no query.

An entry is read from the database at most once per PRISM_DIRECTORY_TTL seconds per
process, so a change made in the admin reaches every worker within that time; in the
process that made it, the signals in `signals.py` drop the cache at once.

The cache is bounded: the least recently used entries leave first. Unknown keys are
remembered for the same time (a key issued meanwhile works within the TTL everywhere),
in a smaller cache of their own, so that a flood of invented keys neither grows memory
nor pushes real keys out. Lookups answer within DB_CONNECT_TIMEOUT, or fail as an
unreachable database does (`database.lookup`).
"""

import asyncio
import time
from collections import OrderedDict

from django.conf import settings

from . import selectors
from .database import lookup


class Entries:
    """At most `size` values, each with the time it was read; the least recently used go first."""

    def __init__(self, size: int):
        self.size = size
        self._values = OrderedDict()

    def get(self, key, now: float):
        found = self._values.get(key)
        if found is None or now - found[0] >= settings.PRISM_DIRECTORY_TTL:
            return None
        self._values.move_to_end(key)
        return found

    def put(self, key, fetched_at: float, value) -> None:
        self._values[key] = (fetched_at, value)
        self._values.move_to_end(key)
        if len(self._values) > self.size:
            self._values.popitem(last=False)

    def clear(self) -> None:
        self._values.clear()

    def __len__(self):
        return len(self._values)


class Directory:
    def __init__(self, clock=time.monotonic, size: int = 20_000, unknown_size: int = 2_000):
        self.clock = clock
        self._entries = Entries(size)
        self._unknown = Entries(unknown_size)  # keys that do not exist (looked up as None)
        self._loading = {}

    def clear(self):
        self._entries.clear()
        self._unknown.clear()

    async def key(self, prefix: str) -> selectors.KeyInfo | None:
        return await self._get(("key", prefix), selectors.key_info_get, prefix=prefix)

    async def route_rules(self, tenant_id: int) -> tuple[selectors.RouteRule, ...]:
        return await self._get(("routes", tenant_id), selectors.route_rules_list, tenant_id=tenant_id)

    async def provider_keys(self, tenant_id: int) -> dict[str, str]:
        return await self._get(("provider_keys", tenant_id), selectors.provider_keys_get, tenant_id=tenant_id)

    async def prices(self) -> dict[str, selectors.Price]:
        return await self._get(("prices",), selectors.prices_get)

    async def _get(self, cache_key, selector, **kwargs):
        now = self.clock()
        entry = self._entries.get(cache_key, now) or self._unknown.get(cache_key, now)
        if entry is not None:
            return entry[1]
        # Concurrent misses for the same entry share one query.
        loading = self._loading.get(cache_key)
        if loading is None:
            loading = self._loading[cache_key] = asyncio.ensure_future(self._load(cache_key, selector, kwargs))
        return await asyncio.shield(loading)

    async def _load(self, cache_key, selector, kwargs):
        try:
            fetched_at = self.clock()
            value = await lookup(selector, **kwargs)
            (self._unknown if value is None else self._entries).put(cache_key, fetched_at, value)
            return value
        finally:
            del self._loading[cache_key]


directory = Directory()
