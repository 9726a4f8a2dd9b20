"""Prism API keys: their format, generation and keyed hashing.

A key reads `prism-<prefix>-<secret>`. The prefix is public and finds the key's row
with one indexed query; the whole key is stored only as HMAC-SHA256 under a pepper
of its own (PRISM_KEY_PEPPER). Keys carry 256 random bits, so a fast keyed hash is
as safe as a slow password hasher and costs a microsecond on the hot path.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from django.conf import settings

SCHEME = "prism"
PREFIX_BYTES = 6
SECRET_BYTES = 32


@dataclass(frozen=True)
class NewKey:
    prefix: str
    raw: str


def key_generate() -> NewKey:
    prefix = secrets.token_hex(PREFIX_BYTES)
    return NewKey(prefix=prefix, raw=f"{SCHEME}-{prefix}-{secrets.token_urlsafe(SECRET_BYTES)}")


def key_prefix(raw: str) -> str | None:
    """Return the public prefix of a well-formed key, or None."""
    scheme, _, rest = raw.partition("-")
    prefix, _, secret = rest.partition("-")
    if scheme != SCHEME or len(prefix) != PREFIX_BYTES * 2 or not secret:
        return None
    return prefix


def key_hash(raw: str) -> str:
    return hmac.new(settings.PRISM_KEY_PEPPER.encode(), raw.encode(), hashlib.sha256).hexdigest()


def key_matches(raw: str, stored_hash: str) -> bool:
    return hmac.compare_digest(key_hash(raw), stored_hash)
