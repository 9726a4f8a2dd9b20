"""Errors in Anthropic's shape, `{"type": "error", "error": {"type", "message"}}`, for the /v1/messages door:
Prism's own, and an OpenAI-format upstream's, reworded where Claude Code reads the words."""

import re

import orjson

from gateway.errors import GatewayError

# Anthropic's error type for each status (its docs' list, and the statuses its SDK has exception classes for).
ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 402: "billing_error", 403: "permission_error",
               404: "not_found_error", 409: "conflict_error", 413: "request_too_large", 429: "rate_limit_error",
               500: "api_error", 503: "overloaded_error", 504: "timeout_error", 529: "overloaded_error"}
# OpenAI's words for a limit, and Anthropic's, which Claude Code reads to compact or to lower max_tokens and retry.
LIMIT_WORDINGS = [
    (re.compile(r"context length is (\d+) tokens\. However, (?:your messages resulted in|you requested) (\d+)"),
     "prompt is too long: {1} tokens > {0} maximum"),
    (re.compile(r"is too large: (\d+)\. This model supports at most (\d+) completion tokens"),
     "max_tokens: {0} > {1}, which is the maximum allowed number of output tokens for this model"),
]


def error_body(status: int, error_type: str | None, message: str) -> bytes:
    """Anthropic's error shape; without a type, the one Anthropic gives the status."""
    error_type = error_type or ERROR_TYPES.get(status) or ("api_error" if status >= 500 else "invalid_request_error")
    return orjson.dumps({"type": "error", "error": {"type": error_type, "message": message}})


def gateway_error_to_anthropic(error: GatewayError) -> tuple[int, bytes]:
    return error.status_code, error_body(error.status_code, None, error.message)


def error_event(error: GatewayError) -> bytes:
    """An error once a stream has begun, as Anthropic sends it."""
    return b"event: error\ndata: " + gateway_error_to_anthropic(error)[1] + b"\n\n"


def openai_error_to_anthropic(status: int, body: bytes) -> bytes:
    """An OpenAI-format upstream's error answer in Anthropic's shape, its message kept (limits in Anthropic's words)."""
    try:
        error = orjson.loads(body).get("error")
    except (orjson.JSONDecodeError, AttributeError):
        error = None
    message = error.get("message") if isinstance(error, dict) else error
    if not isinstance(message, str) or not message:
        return error_body(status, None, f"The upstream provider answered with HTTP status {status}.")
    for pattern, wording in LIMIT_WORDINGS:
        if found := pattern.search(message):
            return error_body(status, None, wording.format(*found.groups()))
    if isinstance(error, dict) and error.get("code") == "context_length_exceeded":
        message = f"prompt is too long: {message}"
    return error_body(status, None, message)
