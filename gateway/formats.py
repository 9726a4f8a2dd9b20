"""Error shapes by door: OpenAI's `{"error": {...}}`, or Anthropic's `{"type": "error", "error": {...}}`.

A client parses the errors of the API it called: the Anthropic SDK (and Claude Code) read Anthropic's
shape from `/v1/messages`, OpenAI's SDKs OpenAI's shape from every other door. Prism's own errors and
an upstream's errors in the other vendor's shape are both rendered here.
"""

from .errors import GatewayError
from .translations import anthropic_errors


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
        return anthropic_errors.error_body(error.status_code, None, error.message)

    def upstream_error(self, status: int, body: bytes) -> bytes:
        return anthropic_errors.openai_error_to_anthropic(status, body)

    def stream_error(self, error: GatewayError) -> bytes:
        return anthropic_errors.error_event(error)


OPENAI = ErrorFormat()
ANTHROPIC = AnthropicErrors()
