"""The floor for Python: a bare ASGI pass-through with one pooled aiohttp session and nothing else.

No authentication, routing, validation or accounting: what any gateway costs above this is its own.
Run: UPSTREAM_URL=http://127.0.0.1:9100/v1 uvicorn bench.passthrough:app
"""

import os

import aiohttp

URL = os.environ.get("UPSTREAM_URL", "http://127.0.0.1:9100/v1")
HEADERS = {"Authorization": "Bearer sk-bench", "Content-Type": "application/json"}
session = None


async def app(scope, receive, send):
    global session
    if scope["type"] == "lifespan":
        await receive()  # startup
        await send({"type": "lifespan.startup.complete"})
        await receive()  # shutdown
        await send({"type": "lifespan.shutdown.complete"})
        return
    if session is None:
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
    body, more = b"", True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    async with session.post(URL + scope["path"].removeprefix("/v1"), data=body, headers=HEADERS) as response:
        headers = [(b"content-type", response.headers["Content-Type"].encode())]
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        async for chunk in response.content.iter_any():
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
    await send({"type": "http.response.body", "body": b""})
