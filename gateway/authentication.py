"""Prism keys for the DRF endpoints (models, usage): the same checks as the hot path, without its cache."""

from django.utils import timezone
from rest_framework.authentication import BaseAuthentication

from tenants.authentication import KeyRejected, key_check
from tenants.keys import key_prefix
from tenants.selectors import key_info_get

from .errors import AuthenticationFailed


class PrismKeyAuthentication(BaseAuthentication):
    """Authenticates `Authorization: Bearer <prism key>` (or Anthropic's `x-api-key`); request.auth becomes the
    key's snapshot."""

    def authenticate(self, request):
        scheme, _, raw = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
        raw = raw.strip() if scheme.lower() == "bearer" else request.META.get("HTTP_X_API_KEY", "").strip()
        if not raw:
            return None
        prefix = key_prefix(raw)
        try:
            info = key_check(raw, key_info_get(prefix=prefix) if prefix else None, now=timezone.now())
        except KeyRejected as rejected:
            raise AuthenticationFailed(str(rejected)) from None
        return (KeyHolder(info), info)

    def authenticate_header(self, request):
        return "Bearer"


class KeyHolder:
    """The request.user of a key-authenticated request."""

    is_authenticated = True
    is_staff = False

    def __init__(self, key_info):
        self.key_info = key_info
