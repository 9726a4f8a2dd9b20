"""Deciding whether a raw Prism key may call the gateway."""

from datetime import datetime

from django.utils import timezone

from .directory import directory
from .keys import key_matches, key_prefix
from .selectors import KeyInfo


class KeyRejected(Exception):
    """The key is missing, unknown, revoked, expired or its tenant is inactive; the message says which."""


def key_check(raw: str, info: KeyInfo | None, *, now: datetime) -> KeyInfo:
    if info is None or not key_matches(raw, info.key_hash):
        raise KeyRejected("Incorrect API key provided.")
    if info.revoked:
        raise KeyRejected("This API key has been revoked.")
    if info.expires_at is not None and info.expires_at <= now:
        raise KeyRejected("This API key has expired.")
    if not info.tenant_active:
        raise KeyRejected("This API key's tenant is inactive.")
    return info


async def authenticate(raw: str | None) -> KeyInfo:
    """Return the key's snapshot, from the process cache when fresh, or raise KeyRejected."""
    if not raw:
        raise KeyRejected(
            "You didn't provide an API key. Provide your Prism API key in an Authorization header "
            "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
        )
    prefix = key_prefix(raw)
    info = await directory.key(prefix) if prefix else None
    return key_check(raw, info, now=timezone.now())
