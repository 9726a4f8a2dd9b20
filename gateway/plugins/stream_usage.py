"""Ask streaming upstreams for their usage numbers, so that every stream can be counted exactly."""

from .interface import Plugin


class StreamUsagePlugin(Plugin):
    """Turn on `stream_options.include_usage`; if the client had not, the relay hides the usage chunk again."""

    async def handle(self, context, next):
        options = context.request_data.get("stream_options")
        if context.stream and (options is None or isinstance(options, dict) and not options.get("include_usage")):
            body = context.body
            context.request_data_update(stream_options={**(options or {}), "include_usage": True})
            if options is None and body is not None:
                # Splice the option in rather than re-encode, so the client's bytes go upstream as sent.
                context.body = b'{"stream_options":{"include_usage":true},' + body.lstrip()[1:]
            context.metadata["hide_usage"] = True
        await next(context)
