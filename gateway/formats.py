"""Error shapes by door: OpenAI's `{"error": {...}}`, or Anthropic's `{"type": "error", "error": {...}}`.

A client parses the errors of the API it called: the Anthropic SDK (and Claude Code) read Anthropic's
shape from `/v1/messages`, OpenAI's SDKs OpenAI's shape from every other door. Prism's own errors and
an upstream's errors in the other vendor's shape are both rendered here.
"""

import orjson

from .errors import GatewayError

# Anthropic's error types by status, as its SDK maps them to exception classes.
ANTHROPIC_TYPES = {
    400: "invalid_request_error", 401: "authentication_error", 402: "billing_error", 403: "permission_error",
    404: "not_found_error", 405: "invalid_request_error", 413: "request_too_large", 429: "rate_limit_error",
    500: "api_error", 502: "api_error", 503: "overloaded_error", 504: "timeout_error", 529: "overloaded_error",
}


class ErrorFormat:
    """OpenAI's shape: Prism's errors are already written in it."""

    name = "openai"

    def error_body(self, error: GatewayError) -> bytes:
        return error.body()

    def upstream_error(self, status: int, body: bytes) -> bytes:
        """An OpenAI-format upstream's error answer, as this door's clients expect it."""
        return body

    def stream_error(self, error: GatewayError) -> bytes:
        return b"data: " + self.error_body(error) + b"\n\n"


class AnthropicErrors(ErrorFormat):
    name = "anthropic"

    def error_body(self, error: GatewayError) -> bytes:
        return self.body(error.status_code, error.message)

    def body(self, status: int, message: str) -> bytes:
        kind = ANTHROPIC_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
        return orjson.dumps({"type": "error", "error": {"type": kind, "message": message}})

    def upstream_error(self, status: int, body: bytes) -> bytes:
        try:
            message = orjson.loads(body)["error"]["message"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            message = "The upstream provider returned an error."
        return self.body(status, str(message))

    def stream_error(self, error: GatewayError) -> bytes:
        return b"event: error\ndata: " + self.error_body(error) + b"\n\n"


OPENAI = ErrorFormat()
ANTHROPIC = AnthropicErrors()
