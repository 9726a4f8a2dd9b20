"""The process's cache of keys and routing rules, so the hot path makes no query.

An entry is read from the database at most once per PRISM_DIRECTORY_TTL seconds per
process, so a change made in the admin reaches every worker within that time; in the
process that made it, the signals in `signals.py` drop the cache at once.
"""

import asyncio
import time

from asgiref.sync import sync_to_async
from django.conf import settings

from . import selectors


class Directory:
    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self._entries = {}
        self._loading = {}

    def clear(self):
        self._entries.clear()

    async def key(self, prefix: str) -> selectors.KeyInfo | None:
        return await self._get(("key", prefix), selectors.key_info_get, prefix=prefix)

    async def route_rules(self, tenant_id: int) -> tuple[selectors.RouteRule, ...]:
        return await self._get(("routes", tenant_id), selectors.route_rules_list, tenant_id=tenant_id)

    async def provider_keys(self, tenant_id: int) -> dict[str, str]:
        return await self._get(("provider_keys", tenant_id), selectors.provider_keys_get, tenant_id=tenant_id)

    async def prices(self) -> dict[str, selectors.Price]:
        return await self._get(("prices",), selectors.prices_get)

    async def _get(self, cache_key, selector, **kwargs):
        entry = self._entries.get(cache_key)
        if entry is not None and self.clock() - entry[0] < settings.PRISM_DIRECTORY_TTL:
            return entry[1]
        # Concurrent misses for the same entry share one query.
        loading = self._loading.get(cache_key)
        if loading is None:
            loading = self._loading[cache_key] = asyncio.ensure_future(self._load(cache_key, selector, kwargs))
        return await asyncio.shield(loading)

    async def _load(self, cache_key, selector, kwargs):
        try:
            fetched_at = self.clock()
            value = await sync_to_async(selector)(**kwargs)
            self._entries[cache_key] = (fetched_at, value)
            return value
        finally:
            del self._loading[cache_key]


directory = Directory()
