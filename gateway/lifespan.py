"""ASGI lifespan: at shutdown, store the waiting usage records and close upstream connections.

Servers without lifespan events (daphne) rely on the usage writer's exit hook instead.
"""

from providers.registry import providers_reset

from .usage_writer import usage_writer


async def lifespan(scope, receive, send):
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await usage_writer.flush()
            await providers_reset()
            await send({"type": "lifespan.shutdown.complete"})
            return
