"""The hot path's Redis client (gateway/redis_wire.py): replies in order, scripts, databases, failures."""

import asyncio
import uuid

import pytest
import redis

from gateway.redis_wire import DEFER_DELAY, INCOMPLETE, BatchScript, RedisReplyError, RedisWire, Script, _parse
from tests.test_limits import redis_url  # noqa: F401  (the fixture: Redis or a failure under PRISM_REQUIRE_SERVICES)


def test_replies_are_read_whole_or_not_at_all():
    reply = b"*3\r\n:1\r\n$5\r\nhello\r\n$-1\r\n"
    assert _parse(reply, 0) == ([1, b"hello", None], len(reply))
    for cut in range(1, len(reply)):
        assert _parse(reply[:cut], 0) is INCOMPLETE
    assert _parse(b"+OK\r\n", 0) == (b"OK", 5)
    error, _ = _parse(b"-ERR wrong\r\n", 0)
    assert isinstance(error, RedisReplyError) and str(error) == "ERR wrong"


async def test_many_calls_in_flight_on_one_connection_get_their_own_replies(redis_url):  # noqa: F811
    wire, key = RedisWire(redis_url, timeout=2), f"wire-{uuid.uuid4().hex}"
    replies = await asyncio.gather(*(wire.call("INCRBY", key, 1) for _ in range(200)))
    assert sorted(replies) == list(range(1, 201)) and replies == sorted(replies)
    assert await wire.call("SET", key, "x", "EX", 60, "NX") is None
    with pytest.raises(RedisReplyError):
        await wire.call("INCRBY", key, "not a number")
    assert await wire.call("DEL", key) == 1
    wire.close()


async def test_a_script_unknown_to_redis_is_loaded_on_first_use(redis_url):  # noqa: F811
    script = Script(f"return ARGV[1] .. '{uuid.uuid4().hex}' .. KEYS[1]")
    wire = RedisWire(redis_url, timeout=2)
    assert (await wire.evalsha(script, ["k"], ["v"])).startswith(b"v")
    assert redis.Redis.from_url(redis_url).script_exists(script.sha) == [True]
    wire.close()


async def test_the_database_of_the_url_is_selected(redis_url):  # noqa: F811
    key = f"wire-{uuid.uuid4().hex}"
    wire = RedisWire(redis_url.rsplit("/", 1)[0] + "/5", timeout=2)
    await wire.call("SET", key, "five", "EX", 60)
    assert redis.Redis.from_url(redis_url.rsplit("/", 1)[0] + "/5").get(key) == b"five"
    assert redis.Redis.from_url(redis_url).get(key) is None
    wire.close()


async def test_a_silent_redis_times_out_and_the_next_call_connects_again():
    answered = []

    async def serve(reader, writer):
        await reader.read(100)
        if answered:  # the second connection answers
            writer.write(b":7\r\n")
            await writer.drain()
        answered.append(True)
        await asyncio.sleep(2)
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    wire = RedisWire(f"redis://127.0.0.1:{server.sockets[0].getsockname()[1]}/0", timeout=0.2)
    with pytest.raises(TimeoutError):
        await wire.call("INCR", "k")
    assert await wire.call("INCR", "k") == 7
    wire.close()
    server.close()


async def test_an_unreachable_redis_is_an_os_error():
    with pytest.raises(OSError):
        await RedisWire("redis://127.0.0.1:1/0", timeout=1).call("PING")


ECHO = """
local function call(first, n)
  return n .. ':' .. table.concat({unpack(ARGV, first, first + n - 1)}, ',')
end
"""


async def test_a_turns_calls_of_a_batch_script_share_one_call_and_get_their_own_answers(redis_url):  # noqa: F811
    script = BatchScript(ECHO + f"-- {uuid.uuid4().hex}")  # unknown to Redis: loaded on first use
    wire = RedisWire(redis_url, timeout=2)
    answers = await asyncio.gather(wire.batched(script, ["a b", "c"]), wire.batched(script, lambda: ["d"]))
    assert answers == [b"2:a b,c", b"1:d"]
    wire.close()


async def test_a_deferred_call_goes_at_once_to_an_idle_redis_else_with_the_next_call(redis_url):  # noqa: F811
    script = BatchScript(ECHO)
    wire = RedisWire(redis_url, timeout=2)
    await wire.batched(script, ["connect"])
    assert await asyncio.wait_for(wire.batched(script, ["idle"], deferred=True), 1) == b"1:idle"

    first = wire.batched(script, ["first"])
    await asyncio.sleep(0)  # sent, not answered yet
    deferred = wire.batched(script, ["later"], deferred=True)
    assert await first == b"1:first" and not deferred.done()
    assert await wire.batched(script, ["now"]) == b"1:now" and deferred.result() == b"1:later"  # in the same call

    first = wire.batched(script, ["first"])
    await asyncio.sleep(0)
    alone = wire.batched(script, ["alone"], deferred=True)  # no call follows: it goes after its delay
    await first
    assert await asyncio.wait_for(alone, DEFER_DELAY * 20) == b"1:alone"
    wire.close()
