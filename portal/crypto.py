"""Encryption at rest for secrets and personal files (Fernet, keys from settings.FIELD_ENCRYPTION_KEYS).

The first key encrypts; every key decrypts, so keys can be rotated by prepending a new one.
"""

import hashlib
import hmac
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key.encode() if isinstance(key, str) else key) for key in keys])


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt_bytes(data: bytes) -> bytes:
    return fernet().encrypt(data)


def decrypt_bytes(token: bytes) -> bytes:
    return fernet().decrypt(token)


def encrypt_str(value: str) -> str:
    return encrypt_bytes(value.encode()).decode()


def decrypt_str(token: str) -> str:
    return decrypt_bytes(token.encode()).decode()


def keyed_hash(value: str, *, purpose: str) -> str:
    """A stable pseudonym: equal inputs give equal outputs, but the input cannot be recovered without the pepper."""
    key = f"{settings.HASHING_PEPPER}:{purpose}".encode()
    return hmac.new(key, value.strip().lower().encode(), hashlib.sha256).hexdigest()


class EncryptedTextField(models.TextField):
    """Stores Fernet ciphertext; Python code sees plaintext. Not searchable or orderable by value, on purpose."""

    def from_db_value(self, value, expression, connection):
        if value in (None, ""):
            return value
        try:
            return decrypt_str(value)
        except InvalidToken as exc:
            raise ValueError(f"Cannot decrypt {self.model.__name__}.{self.name}: wrong FIELD_ENCRYPTION_KEYS") from exc

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value in (None, ""):
            return value
        return encrypt_str(value)
