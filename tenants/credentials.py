"""Tenants' own provider keys, encrypted at rest (Fernet, under PRISM_CREDENTIALS_KEY)."""

import base64
import hashlib

from cryptography.fernet import Fernet
from django.conf import settings


def _fernet() -> Fernet:
    digest = hashlib.sha256(settings.PRISM_CREDENTIALS_KEY.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def credential_encrypt(api_key: str) -> str:
    return _fernet().encrypt(api_key.encode()).decode()


def credential_decrypt(token: str) -> str:
    return _fernet().decrypt(token.encode()).decode()
