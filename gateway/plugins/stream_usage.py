"""Ask streaming upstreams for their usage numbers, so that every stream can be counted exactly."""

from .interface import Plugin

OWN_OPTIONS = b'{"stream_options":{"include_usage":true},'


class StreamUsagePlugin(Plugin):
    """Turn on `stream_options.include_usage` where the format needs asking; if the client had not asked,
    the relay hides the usage chunk again.

    Whatever the client sent (no `stream_options`, `null`, `{}`, `include_usage: false`, other keys), the
    upstream is asked for usage; the client's own options are kept.
    """

    async def handle(self, context, next):
        stream_format = context.upstream_operation.stream
        if context.stream and stream_format is not None and stream_format.asks_for_usage:
            options = context.request_data.get("stream_options")
            if not (isinstance(options, dict) and options.get("include_usage") is True):
                body, absent = context.body, "stream_options" not in context.request_data
                context.request_data_update(stream_options={**(options if isinstance(options, dict) else {}),
                                                            "include_usage": True})
                if absent and body is not None:
                    # Splice the option in rather than re-encode, so the client's bytes go upstream as sent.
                    context.body = OWN_OPTIONS + body.lstrip()[1:]
                context.metadata["hide_usage"] = context.translation is None
        await next(context)
