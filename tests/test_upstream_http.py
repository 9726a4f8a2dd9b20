"""The lean upstream client (providers/upstream_http.py) against raw loopback servers that misbehave on purpose."""

import asyncio

import pytest

from providers.upstream_http import Cut, Timeouts, Unreachable, UpstreamClient, _target

TIMEOUTS = Timeouts(connect=2, read=2, total=5)


class RawServer:
    """A loopback TCP server answering each request with `answer(request_number)`: the bytes to send, or a
    coroutine function given the writer, for answers that take their time."""

    def __init__(self, answer):
        self.answer, self.requests, self.connections = answer, 0, 0

    async def __aenter__(self):
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/v1/chat/completions"
        return self

    async def __aexit__(self, *exc):
        self.server.close()

    async def _serve(self, reader, writer):
        self.connections += 1
        try:
            while await reader.readuntil(b"\r\n\r\n"):
                self.requests += 1
                answer = self.answer(self.requests)
                if callable(answer):
                    await answer(writer)
                    continue
                writer.write(answer)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


def whole(body: bytes, *extra: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s\r\n%s" % (len(body), b"".join(extra), body)


async def test_connections_are_kept_and_reused():
    async with RawServer(lambda n: whole(b'{"n": %d}' % n)) as server:
        client = UpstreamClient()
        for n in (1, 2, 3):
            answer = await client.request("GET", server.url, {}, None, TIMEOUTS)
            assert (answer.status, await answer.read()) == (200, b'{"n": %d}' % n)
        assert server.connections == 1
        client.close()


async def test_a_connection_the_upstream_closed_while_idle_is_replaced_without_failing_the_request():
    async with RawServer(lambda n: whole(b"ok", b"Connection: close\r\n") if n == 1 else whole(b"again")) as server:
        client = UpstreamClient()
        assert await (await client.request("POST", server.url, {}, b"{}", TIMEOUTS)).read() == b"ok"
        await asyncio.sleep(0.05)
        assert await (await client.request("POST", server.url, {}, b"{}", TIMEOUTS)).read() == b"again"
        assert server.connections == 2
        client.close()


async def test_a_stream_arrives_piece_by_piece_with_chunked_transfer_decoded():
    async def stream(writer):
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
        for piece in (b"data: 1\n\n", b"data: 2\n\n", b"data: [DONE]\n\n"):
            writer.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            await writer.drain()
            await asyncio.sleep(0.02)
        writer.write(b"0\r\n\r\n")

    async with RawServer(lambda n: stream) as server:
        client = UpstreamClient()
        answer = await client.request("POST", server.url, {}, b"{}", TIMEOUTS)
        assert answer.header(b"content-type") == b"text/event-stream"
        pieces = [chunk async for chunk in answer.chunks()]
        assert pieces == [b"data: 1\n\n", b"data: 2\n\n", b"data: [DONE]\n\n"]
        assert (await (await client.request("POST", server.url, {}, b"{}", TIMEOUTS)).read()).endswith(b"[DONE]\n\n")
        assert server.connections == 1
        client.close()


async def test_an_answer_without_a_length_ends_with_its_connection():
    async def until_close(writer):
        writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nall of it")
        await writer.drain()
        writer.close()

    async with RawServer(lambda n: until_close) as server:
        client = UpstreamClient()
        assert await (await client.request("GET", server.url, {}, None, TIMEOUTS)).read() == b"all of it"
        client.close()


async def test_an_answer_cut_short_is_a_cut_and_no_answer_is_unreachable():
    async def cut(writer):
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this")
        await writer.drain()
        writer.close()

    async def nothing(writer):
        writer.close()

    async with RawServer(lambda n: cut if n == 1 else nothing) as server:
        client = UpstreamClient()
        with pytest.raises(Cut):
            await (await client.request("POST", server.url, {}, b"{}", TIMEOUTS)).read()
        with pytest.raises(Unreachable):
            await client.request("POST", server.url, {}, b"{}", TIMEOUTS)
        client.close()


async def test_a_silent_upstream_times_out_on_the_read_timeout():
    async def silent(writer):
        await asyncio.sleep(3)

    async with RawServer(lambda n: silent) as server:
        client = UpstreamClient()
        started = asyncio.get_running_loop().time()
        with pytest.raises(TimeoutError):
            await client.request("POST", server.url, {}, b"{}", Timeouts(connect=1, read=0.2, total=5))
        assert asyncio.get_running_loop().time() - started < 1.5
        client.close()


async def test_a_closed_port_is_unreachable_and_a_line_break_in_a_header_is_refused():
    client = UpstreamClient()
    async with RawServer(lambda n: whole(b"")) as server:
        url = server.url
    with pytest.raises(Unreachable):
        await client.request("POST", url, {}, b"{}", TIMEOUTS)
    with pytest.raises(ValueError):
        await client.request("POST", url, {"x-evil": "a\r\nHost: elsewhere"}, b"{}", TIMEOUTS)
    client.close()


def test_the_host_header_names_the_host_and_port_only():
    assert _target("https://api.openai.com/v1/chat/completions?x=1") == (
        (True, "api.openai.com", 443), b"/v1/chat/completions?x=1", b"api.openai.com")
    assert _target("http://user:secret@127.0.0.1:9100/v1")[2] == b"127.0.0.1:9100"
    assert _target("http://[::1]:8080/v1")[0::2] == ((False, "::1", 8080), b"[::1]:8080")
