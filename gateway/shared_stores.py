"""Where the state every Prism process shares lives: in Redis when REDIS_URL is set, else in the process itself."""

from functools import cache

from django.conf import settings


def by_redis_url(redis_class, local_class):
    """A function returning the store for the REDIS_URL in force (tests change it), made once per URL;
    its `cache_clear()` forgets them."""

    @cache
    def store_for(url: str):
        return redis_class(url) if url else local_class()

    def store():
        return store_for(settings.REDIS_URL)

    store.cache_clear = store_for.cache_clear
    return store
