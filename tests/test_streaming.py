import orjson
import pytest

from gateway.streaming import SSERelay
from providers import mock_answers
from providers.sse import DONE, sse

REQUEST = {"model": "gpt-4", "messages": [{"role": "user", "content": "one two"}], "n": 2,
           "stream_options": {"include_usage": True}}


def upstream_bytes() -> bytes:
    chunks = mock_answers.chunks(REQUEST, completion_id="chatcmpl-1", created=1)
    return b"".join(sse(chunk) for chunk in chunks) + DONE


def relay_in_pieces(relay: SSERelay, data: bytes, size: int) -> bytes:
    return b"".join(relay.feed(data[i : i + size]) for i in range(0, len(data), size))


@pytest.mark.parametrize("size", [1, 7, 64, 100_000])
def test_events_pass_whole_whatever_the_upstream_chunking(size):
    relay = SSERelay(hide_usage=False)
    assert relay_in_pieces(relay, upstream_bytes(), size) == upstream_bytes()
    assert relay.done and [relay.usage[k] for k in ("prompt_tokens", "completion_tokens", "total_tokens")] == [3, 18, 21]


@pytest.mark.parametrize("size", [3, 100_000])
def test_hidden_usage_leaves_what_openai_sends_without_include_usage(size):
    relay = SSERelay(hide_usage=True)
    sent = relay_in_pieces(relay, upstream_bytes(), size)
    without = {**REQUEST, "stream_options": None}
    expected = b"".join(sse(c) for c in mock_answers.chunks(without, completion_id="chatcmpl-1", created=1))
    assert sent == expected + DONE
    assert relay.usage["total_tokens"] == 21


def test_usage_written_with_spaces_is_still_hidden():
    relay = SSERelay(hide_usage=True)
    event = b'data: {"id": "x", "choices": [{"index": 0, "delta": {}}], "usage": null}\n\n'
    assert orjson.loads(relay.feed(event)[6:]) == {"id": "x", "choices": [{"index": 0, "delta": {}}]}


def test_an_unfinished_event_waits_for_its_end():
    relay = SSERelay(hide_usage=False)
    assert relay.feed(b'data: {"a"') == b""
    assert relay.feed(b": 1}\n\n") == b'data: {"a": 1}\n\n'
    assert not relay.done


def test_done_is_seen_whatever_follows_it():
    relay = SSERelay(hide_usage=False)
    relay.feed(b'data: {"a": 1}\n\ndata: [DONE]\n\n\n\n')
    assert relay.done
