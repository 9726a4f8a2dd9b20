"""CORS for browser clients of the doors: PRISM_CORS_ORIGINS names the origins allowed ("*" for any).

Empty (the default), no CORS header is sent and OPTIONS is not answered, at no cost per request.
"""

from django.conf import settings

EXPOSED = b"x-request-id, x-prism-request-id, retry-after, x-ratelimit-limit-requests, " \
          b"x-ratelimit-remaining-requests, x-ratelimit-reset-requests, x-ratelimit-limit-tokens, " \
          b"x-ratelimit-remaining-tokens, x-ratelimit-reset-tokens"


def _header(headers, wanted: bytes) -> bytes | None:
    return next((value for name, value in headers if name == wanted), None)


def _allowed_origin(headers) -> bytes | None:
    origin = _header(headers, b"origin")
    if origin is None:
        return None
    allowed = settings.PRISM_CORS_ORIGINS
    return origin if "*" in allowed or origin.decode("latin-1") in allowed else None


def headers(request_headers) -> list[tuple[bytes, bytes]]:
    """The CORS headers of an answer to this request (none if its origin is not allowed)."""
    origin = _allowed_origin(request_headers)
    if origin is None:
        return []
    return [(b"access-control-allow-origin", origin), (b"vary", b"origin"), (b"access-control-expose-headers", EXPOSED)]


async def preflight(scope, send, methods: bytes) -> None:
    """Answer a browser's OPTIONS preflight: 204 with what may be sent, or 403 for an origin not allowed."""
    request_headers = scope["headers"]
    own = headers(request_headers)
    if own:
        asked = _header(request_headers, b"access-control-request-headers") or b"authorization, content-type"
        own += [(b"access-control-allow-methods", methods + b", OPTIONS"), (b"access-control-allow-headers", asked),
                (b"access-control-max-age", b"600")]
    await send({"type": "http.response.start", "status": 204 if own else 403, "headers": own})
    await send({"type": "http.response.body", "body": b""})
