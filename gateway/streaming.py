"""Relaying an upstream's server-sent events to the client: event by event, as they arrive, counting usage."""

import asyncio
import re
import time

import orjson

from .errors import GatewayError, UpstreamError
from .observability import OPEN_STREAMS

DONE = b"data: [DONE]"
USAGE = b'"usage"'
USAGE_NULL = b',"usage":null'
ANY_USAGE = re.compile(re.escape(USAGE))
USAGE_VALUE = re.compile(rb'"usage"\s*:\s*(?!null)')  # a usage object, not the null of every other chunk
EVENT_END = b"\n\n"
DELTA = b'"delta":{"'  # a chunk's delta that is not empty


class SSERelay:
    """Cuts the byte stream into whole events, keeps the usage chunk's numbers, and can hide usage.

    With `hide_usage` (Prism asked for usage, the client did not), the final usage chunk and the
    `"usage":null` of the other chunks are removed, so the client sees what OpenAI would have sent.
    """

    def __init__(self, *, hide_usage: bool):
        self.hide_usage = hide_usage
        self.usage = None
        self.model = None
        self.done = False
        self.delivered = 0  # deltas passed on, about one token each
        self._buffer = b""
        # The events worth parsing: hiding usage, any that has it; else only one with usage to read.
        self._to_parse = ANY_USAGE if hide_usage else USAGE_VALUE

    def feed(self, chunk: bytes) -> bytes:
        """Return the whole events completed by `chunk`, ready to send."""
        data = self._buffer + chunk
        end = data.rfind(EVENT_END)
        if end < 0:
            self._buffer = data
            return b""
        events, self._buffer = data[: end + 2], data[end + 2 :]
        if self.hide_usage:
            events = events.replace(USAGE_NULL, b"")
        if DONE in events:
            self.done = True
        self.delivered += events.count(DELTA)
        found = self._to_parse.search(events)
        if found is None:
            return events
        before = events.rfind(EVENT_END, 0, found.start())  # parsed from that event on
        start = before + 2 if before >= 0 else 0
        return events[:start] + b"".join(self._event(event) for event in events[start:].split(EVENT_END)[:-1])

    def _event(self, event: bytes) -> bytes:
        if USAGE not in event or not event.startswith(b"data:"):
            return event + EVENT_END
        try:
            data = orjson.loads(event[5:])
        except orjson.JSONDecodeError:
            return event + EVENT_END
        if not isinstance(data, dict):
            return event + EVENT_END
        if data.get("usage"):
            self.usage, self.model = data["usage"], data.get("model")
        if not self.hide_usage:
            return event + EVENT_END
        if data.get("usage") and not data.get("choices"):
            return b""
        data.pop("usage", None)
        return b"data: " + orjson.dumps(data) + EVENT_END


def error_event(error: GatewayError) -> bytes:
    return b"data: " + error.body() + EVENT_END


async def stream_relay(context, send, receive) -> None:
    """Send the provider's stream; on a client disconnect stop reading upstream at once."""
    response = context.response
    relay = SSERelay(hide_usage=context.metadata.get("hide_usage", False))
    relaying = asyncio.current_task()
    watcher = asyncio.ensure_future(_cancel_on_disconnect(receive, relaying, context))
    OPEN_STREAMS.inc()
    try:
        async for chunk in response.stream:
            events = relay.feed(chunk)
            if events:
                if context.first_byte_at is None:
                    context.first_byte_at = time.perf_counter()
                await send({"type": "http.response.body", "body": events, "more_body": True})
        if not relay.done:
            raise UpstreamError("The upstream provider ended the stream early.")
    except GatewayError as error:
        context.error = error
        await send({"type": "http.response.body", "body": error_event(error), "more_body": True})
    except asyncio.CancelledError:
        if not context.metadata.get("client_gone"):
            raise
        relaying.uncancel()
    finally:
        OPEN_STREAMS.dec()
        watcher.cancel()
        await response.stream.aclose()
        context.usage = relay.usage or context.usage or _delivered_usage(context, relay)
        context.metadata.setdefault("served_model", relay.model)
    if not context.metadata.get("client_gone"):
        await send({"type": "http.response.body", "body": b"", "more_body": False})


def _delivered_usage(context, relay) -> dict:
    """For a stream cut short, the upstream's count never came: estimate the prompt, count what was sent."""
    prompt = len(context.body_bytes()) // 4
    return {"prompt_tokens": prompt, "completion_tokens": relay.delivered, "total_tokens": prompt + relay.delivered}


async def _cancel_on_disconnect(receive, task, context):
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            context.metadata["client_gone"] = True
            task.cancel()
            return
