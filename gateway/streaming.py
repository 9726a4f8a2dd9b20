"""Relaying an upstream's server-sent events to the client: event by event, as they arrive, counting usage.

The operation's stream format says how a complete stream ends and where usage is; everything else
passes through as bytes. A translated operation's events are parsed and rewritten in the door's format.
"""

import asyncio
import re
import time

import orjson

from .errors import GatewayError, UpstreamError
from .observability import OPEN_STREAMS
from .operations import OPENAI_SSE, StreamFormat

DONE = b"data: [DONE]"
USAGE = b'"usage"'
USAGE_NULL = b',"usage":null'
ANY_USAGE = re.compile(re.escape(USAGE))
USAGE_VALUE = re.compile(rb'"usage"\s*:\s*(?!null)')  # a usage object, not the null of every other chunk
EVENT_END = b"\n\n"


class SSERelay:
    """Cuts the byte stream into whole events, keeps the usage events' numbers, and can hide usage.

    With `hide_usage` (Prism asked for usage, the client did not), the final usage chunk and the
    `"usage":null` of the other chunks are removed, so the client sees what OpenAI would have sent.
    `usage` is the upstream's usage object (merged over the events that carry one), `answer` the
    object it came with (its id and model).
    """

    def __init__(self, *, hide_usage: bool, stream_format: StreamFormat = OPENAI_SSE):
        self.hide_usage = hide_usage
        self.format = stream_format
        self.usage = None
        self.answer = None
        self.done = False
        self.delivered = 0
        self._buffer = b""
        # The events worth parsing: hiding usage, any that has it; else only one with usage to read.
        self._to_parse = ANY_USAGE if hide_usage else USAGE_VALUE

    def feed(self, chunk: bytes) -> bytes:
        """Return the whole events completed by `chunk`, ready to send."""
        data = self._buffer + chunk
        if b"\r" in data:  # SSE allows CRLF and CR line ends: one form, so events end with a blank line
            data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n") if not data.endswith(b"\r") else data
        end = data.rfind(EVENT_END)
        if end < 0:
            self._buffer = data
            return b""
        events, self._buffer = data[: end + 2], data[end + 2 :]
        if self.hide_usage:
            events = events.replace(USAGE_NULL, b"")
        for end in self.format.ends:
            if end in events:
                self.done = True
        self.delivered += events.count(self.format.piece) - events.count(self.format.empty_piece)
        found = self._to_parse.search(events)
        if found is None:
            return events
        before = events.rfind(EVENT_END, 0, found.start())  # parsed from that event on
        start = before + 2 if before >= 0 else 0
        return events[:start] + b"".join(self._event(event) for event in events[start:].split(EVENT_END)[:-1])

    def _event(self, event: bytes) -> bytes:
        data = event_data(event) if USAGE in event else None
        if data is None:
            return event + EVENT_END
        usage = self.format.usage_in(data)
        if isinstance(usage, dict) and usage:
            self.usage = {**(self.usage or {}), **usage}
            self.answer = data.get("response") or data.get("message") or data
        if not self.hide_usage:
            return event + EVENT_END
        if data.get("usage") and not data.get("choices"):
            return b""
        data.pop("usage", None)
        return b"data: " + orjson.dumps(data) + EVENT_END


def event_data(event: bytes) -> dict | None:
    """The JSON object of an event's `data:` line, if it has one."""
    for line in event.split(b"\n"):
        if line.startswith(b"data:"):
            try:
                data = orjson.loads(line[5:])
            except orjson.JSONDecodeError:
                return None
            return data if isinstance(data, dict) else None
    return None


def _translated(events: bytes, translator) -> bytes:
    """The door's events for a read of the provider's chat events."""
    return b"".join(translator.feed(data) for event in events.split(EVENT_END)
                    if (data := event_data(event)) is not None)


async def stream_relay(context, send, receive, ending=None) -> None:
    """Send the provider's stream, all but the response's end; on a client disconnect stop reading upstream at
    once. `ending(context)` is called with the stream's usage known, just before the events that end the stream
    go: the SDKs take the end event for the whole answer, before the response itself ends."""
    response = context.response
    upstream_format = context.upstream_operation.stream
    relay = SSERelay(hide_usage=context.metadata.get("hide_usage", False), stream_format=upstream_format)
    translator = context.translation.stream(context) if context.translation else None
    relaying = asyncio.current_task()
    watcher = asyncio.ensure_future(_cancel_on_disconnect(receive, relaying, context))
    OPEN_STREAMS.inc()
    try:
        async for chunk in response.stream:
            events = relay.feed(chunk)
            if events and translator is not None:
                events = _translated(events, translator) + (translator.finish() if relay.done else b"")
            if events:
                if context.first_byte_at is None:
                    context.first_byte_at = time.perf_counter()
                if relay.done and ending is not None:
                    _outcome(context, relay)
                    ending(context)
                    ending = None  # once
                await send({"type": "http.response.body", "body": events, "more_body": True})
        if not relay.done:
            raise UpstreamError("The upstream provider ended the stream early.")
    except GatewayError as error:
        context.error = error
        await send({"type": "http.response.body", "body": context.operation.errors.stream_error(error),
                    "more_body": True})
    except asyncio.CancelledError:
        if not context.metadata.get("client_gone"):
            raise
        relaying.uncancel()
    finally:
        OPEN_STREAMS.dec()
        watcher.cancel()
        await response.stream.aclose()
        _outcome(context, relay)


def _outcome(context, relay) -> None:
    """What the stream delivered, and its usage: the upstream's count, else an estimate."""
    # A client that hangs up once the stream's end reached it (as the SDKs do) got the whole answer.
    context.metadata["delivered_whole"] = relay.done
    context.response_data = relay.answer
    context.usage = context.upstream_operation.usage_of(relay.usage) or context.usage or _delivered(context, relay)


def _delivered(context, relay) -> dict:
    """For a stream cut short, the upstream's count never came: estimate the prompt, count what was sent."""
    context.metadata["usage_source"] = "estimated"
    prompt = len(context.body_bytes()) // 4
    return {"prompt_tokens": prompt, "completion_tokens": relay.delivered, "total_tokens": prompt + relay.delivered}


async def _cancel_on_disconnect(receive, task, context):
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            context.metadata["client_gone"] = True
            task.cancel()
            return
