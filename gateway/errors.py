"""Errors the gateway answers with, all rendered in OpenAI's shape: {"error": {message, type, param, code}}."""

import logging

import orjson
from django.db import DatabaseError
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response

logger = logging.getLogger(__name__)


class GatewayError(Exception):
    status_code = 500
    type = "api_error"
    code = None
    default_message = "The server had an error while processing your request."

    def __init__(self, message=None, *, param=None, code=None, headers=()):
        self.message = message or self.default_message
        self.param = param
        self.code = code or self.code
        self.headers = list(headers)
        super().__init__(self.message)

    def as_dict(self):
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}

    def body(self) -> bytes:
        return orjson.dumps(self.as_dict())


class InvalidRequest(GatewayError):
    status_code = 400
    type = "invalid_request_error"


class AuthenticationFailed(GatewayError):
    status_code = 401
    type = "invalid_request_error"
    code = "invalid_api_key"
    default_message = "Incorrect API key provided."


class PermissionDenied(GatewayError):
    status_code = 403
    type = "invalid_request_error"
    default_message = "You are not allowed to do this."


class NotFound(GatewayError):
    status_code = 404
    type = "invalid_request_error"
    default_message = "Not found."


class ModelNotFound(NotFound):
    code = "model_not_found"


class MethodNotAllowed(GatewayError):
    status_code = 405
    type = "invalid_request_error"
    code = "method_not_allowed"


class PayloadTooLarge(GatewayError):
    status_code = 413
    type = "invalid_request_error"
    code = "request_too_large"


class RateLimited(GatewayError):
    """A key's or tenant's requests or tokens per minute are used up; `type` says which."""

    status_code = 429
    code = "rate_limit_exceeded"

    def __init__(self, message, *, type="requests", headers=()):
        super().__init__(message, headers=headers)
        self.type = type


class QuotaExceeded(GatewayError):
    status_code = 429
    type = "insufficient_quota"
    code = "insufficient_quota"


class UpstreamError(GatewayError):
    """The upstream answered something that is not a valid OpenAI response."""

    default_message = "The upstream provider returned an invalid response."
    code = "upstream_error"


class ServiceUnavailable(GatewayError):
    status_code = 503
    type = "api_error"
    code = "service_unavailable"
    default_message = "The upstream provider is unavailable."


class ProviderNotConfigured(ServiceUnavailable):
    """No key or endpoint is set for the provider: retrying cannot help, so SDKs are told not to."""

    code = "provider_not_configured"

    def __init__(self, provider: str, missing: str):
        super().__init__(f"The provider {provider} is not configured: {missing}.",
                         headers=[(b"x-should-retry", b"false")])


class UpstreamUnreachable(ServiceUnavailable):
    """The connection to the upstream failed: worth a retry."""

    default_message = "The upstream provider could not be reached."


class GatewayTimeout(GatewayError):
    status_code = 504
    type = "api_error"
    code = "timeout"
    default_message = "The upstream provider did not answer in time."


_DRF_ERRORS = {
    drf_exceptions.NotAuthenticated: AuthenticationFailed,
    drf_exceptions.AuthenticationFailed: AuthenticationFailed,
    drf_exceptions.PermissionDenied: PermissionDenied,
    drf_exceptions.NotFound: NotFound,
    drf_exceptions.MethodNotAllowed: MethodNotAllowed,
    drf_exceptions.ParseError: InvalidRequest,
    drf_exceptions.ValidationError: InvalidRequest,
    drf_exceptions.UnsupportedMediaType: InvalidRequest,
}


def drf_exception_handler(exc, context):
    """Render DRF's own exceptions in OpenAI's error shape, so every endpoint answers alike."""
    if isinstance(exc, DatabaseError):
        logger.error("Database error in %s", context["request"].path, exc_info=exc)
        exc = ServiceUnavailable("Prism's database is unavailable.")
    if not isinstance(exc, GatewayError):
        error_class = next((cls for base, cls in _DRF_ERRORS.items() if isinstance(exc, base)), None)
        if error_class is None:
            return None
        exc = error_class(_drf_message(exc))
    return Response(exc.as_dict(), status=exc.status_code, headers=dict(exc.headers))


def _drf_message(exc):
    detail = exc.detail
    if isinstance(detail, dict):
        return "; ".join(f"{field}: {' '.join(map(str, errors))}" for field, errors in detail.items())
    if isinstance(detail, list):
        return " ".join(map(str, detail))
    return str(detail)
