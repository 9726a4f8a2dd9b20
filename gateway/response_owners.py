"""Which tenant and upstream created a stored response, so that reading, deleting or continuing it goes
back to that upstream, and only for that tenant.

Kept in Redis when REDIS_URL is set (every Prism process sees it), else in this process (bounded).
A response id Prism did not see created is, for the caller, a response that does not exist.
"""

import asyncio
import logging
from collections import OrderedDict
from dataclasses import asdict, dataclass

import orjson
import redis.asyncio as redis
from django.conf import settings
from redis.exceptions import RedisError

from .errors import InvalidRequest, NotFound, ServiceUnavailable
from .shared_stores import by_redis_url

logger = logging.getLogger(__name__)

TTL = 30 * 24 * 3600  # OpenAI keeps stored responses for 30 days
LOCAL_LIMIT = 100_000


@dataclass(frozen=True)
class Owner:
    tenant_id: int
    provider: str
    model: str
    endpoint: str = ""
    deployment: str = ""  # its name, when a route over deployments chose it (its key is looked up again)


class LocalOwners:
    def __init__(self):
        self._owners: OrderedDict[str, Owner] = OrderedDict()

    async def remember(self, response_id: str, owner: Owner) -> None:
        self._owners[response_id] = owner
        if len(self._owners) > LOCAL_LIMIT:
            self._owners.popitem(last=False)

    async def get(self, response_id: str) -> Owner | None:
        return self._owners.get(response_id)


class RedisOwners:
    def __init__(self, url: str):
        self.url = url
        self._clients = {}

    def client(self) -> redis.Redis:
        loop = asyncio.get_running_loop()
        if loop not in self._clients:
            self._clients[loop] = redis.Redis.from_url(self.url)
        return self._clients[loop]

    def _key(self, response_id: str) -> str:
        return f"{settings.PRISM_COUNTER_PREFIX}:response:{response_id}"

    async def remember(self, response_id: str, owner: Owner) -> None:
        try:
            await self.client().set(self._key(response_id), orjson.dumps(asdict(owner)), ex=TTL)
        except RedisError:
            logger.warning("Could not note the owner of response %s: it will answer 404 through Prism", response_id)

    async def get(self, response_id: str) -> Owner | None:
        found = await self.client().get(self._key(response_id))
        return Owner(**orjson.loads(found)) if found else None


response_owners = by_redis_url(RedisOwners, LocalOwners)


async def owner_of(response_id, tenant_id: int, *, param: str | None = None) -> Owner:
    """The owner of a response this tenant created; any other id answers 404 (400 naming the parameter that
    gave it, as OpenAI answers an unknown previous_response_id), whoever created it."""
    try:
        owner = await response_owners().get(response_id) if isinstance(response_id, str) else None
    except RedisError:
        raise ServiceUnavailable("Prism's response store is unavailable.") from None
    if owner is None or owner.tenant_id != tenant_id:
        if param is not None:
            raise InvalidRequest(f"Previous response with id '{response_id}' not found.", param=param)
        raise NotFound(f"Response with id '{response_id}' not found.")
    return owner
