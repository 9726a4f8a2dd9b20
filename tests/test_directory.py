"""The process's cache of keys: bounded, and a flood of invented keys pushes no real key out."""

from tenants import selectors
from tenants.directory import Directory

KEY = object()  # stands for a real key's snapshot


async def test_unknown_keys_neither_grow_the_cache_nor_push_real_keys_out(monkeypatch):
    looked_up = []

    def key_info_get(*, prefix):
        looked_up.append(prefix)
        return KEY if prefix.startswith("real") else None

    monkeypatch.setattr(selectors, "key_info_get", key_info_get)
    directory = Directory(clock=lambda: 0.0, size=10, unknown_size=5)  # a clock that stops: nothing expires
    assert await directory.key("real") is KEY
    for number in range(1000):
        assert await directory.key(f"unknown-{number}") is None
    assert await directory.key("real") is KEY and looked_up.count("real") == 1  # still cached
    assert await directory.key("unknown-999") is None and looked_up.count("unknown-999") == 1  # remembered
    assert await directory.key("unknown-0") is None and looked_up.count("unknown-0") == 2  # forgotten long ago

    for number in range(20):  # real keys beyond the size: the least recently used leave
        await directory.key(f"real-{number}")
    await directory.key("real-19")
    await directory.key("real-0")
    assert looked_up.count("real-19") == 1 and looked_up.count("real-0") == 2


async def test_an_unknown_key_is_looked_up_again_after_the_ttl(monkeypatch, settings):
    settings.PRISM_DIRECTORY_TTL = 1.0
    now, looked_up = [0.0], []
    monkeypatch.setattr(selectors, "key_info_get", lambda *, prefix: looked_up.append(prefix))
    directory = Directory(clock=lambda: now[0])
    await directory.key("new")
    await directory.key("new")
    now[0] += 1.0  # a key issued meanwhile in another process works from now on
    await directory.key("new")
    assert looked_up == ["new", "new"]
