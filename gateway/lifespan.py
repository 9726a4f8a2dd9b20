"""ASGI lifespan: at startup, take over the usage of dead processes; at shutdown, store the waiting
usage records and close upstream connections.

Servers without lifespan events (daphne) start the usage writer at their first request and rely on its
exit hook instead.
"""

from providers.registry import providers_reset

from .usage_writer import usage_writer


async def lifespan(scope, receive, send):
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            usage_writer.start()
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await usage_writer.flush()
            await providers_reset()
            await send({"type": "lifespan.shutdown.complete"})
            return
