"""Encryption at rest for secrets, personal data and personal files (keys from settings.FIELD_ENCRYPTION_KEYS).

The first key encrypts; every key decrypts, so keys can be rotated by prepending a new one (then
`manage.py rotate_keys`, then dropping the old key).

Two stored forms:
- Fernet tokens (`EncryptedTextField`, encrypted files): secrets and files, written rarely.
- AES-256-GCM (`FastEncryptedTextField`): message bodies, numbers and other personal data written on the send
  path, where Fernet's HMAC, CBC padding and double base64 cost too much per message. The stored text is
  `g1:<key id>:<base64(nonce + ciphertext + tag)>`; the key id names the FIELD_ENCRYPTION_KEYS entry it was
  derived from (HKDF), so a value is decrypted with one key, not by trying each, and rotation can tell a value
  already under the newest key without decrypting it. Both fields read both forms.

Numbers and e-mail addresses are also stored as `keyed_hash` beside their ciphertext (`phone_lookup_hash`,
`email_lookup_hash`): equality lookups, joins and indexes use the hash, never the encrypted column.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from binascii import a2b_base64
from collections.abc import Iterable
from functools import cache
from itertools import repeat

from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import FieldError
from django.db import models
from django.db.models.lookups import Exact, IsNull

GCM_PREFIX = "g1:"
GCM_NONCE_BYTES = 12
# keyed_hash purposes of the lookup columns beside encrypted numbers and e-mail addresses (one per kind, so an
# e-mail address and a number never hash alike; distinct from privacy's own purposes for its pseudonyms).
PHONE_LOOKUP_PURPOSE = "lookup.phone"
EMAIL_LOOKUP_PURPOSE = "lookup.email"
LOOKUP_HASH_LENGTH = 64


class DecryptionError(ValueError):
    pass


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key.encode() if isinstance(key, str) else key) for key in keys])


@cache
def _newest_fernet(key: str) -> Fernet:
    return Fernet(key.encode() if isinstance(key, str) else key)


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


def fernet_token_is_current(token: bytes) -> bool:
    """Whether the newest key alone decrypts a Fernet token (rotation skips it then)."""
    try:
        _newest_fernet(settings.FIELD_ENCRYPTION_KEYS[0]).decrypt(token)
    except InvalidToken:
        return False
    return True


# --- AES-GCM with key ids ---


@cache
def _gcm_keys(keys: tuple[str, ...]) -> tuple[tuple[str, AESGCM], dict[str, AESGCM]]:
    """(newest (key id, cipher), every key id -> cipher) derived from the Fernet keys."""
    by_id: dict[str, AESGCM] = {}
    ordered: list[tuple[str, AESGCM]] = []
    for key in keys:
        material = base64.urlsafe_b64decode(key.encode() if isinstance(key, str) else key)
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"portal.field.aes-gcm").derive(material)
        key_id = hashlib.sha256(derived).hexdigest()[:8]
        cipher = AESGCM(derived)
        by_id.setdefault(key_id, cipher)
        ordered.append((key_id, cipher))
    return ordered[0], by_id


def gcm_keys() -> tuple[tuple[str, AESGCM], dict[str, AESGCM]]:
    return _gcm_keys(tuple(settings.FIELD_ENCRYPTION_KEYS))


def newest_key_id() -> str:
    return gcm_keys()[0][0]


def gcm_encrypt_str(value: str) -> str:
    (key_id, cipher), _ = gcm_keys()
    nonce = os.urandom(GCM_NONCE_BYTES)
    sealed = cipher.encrypt(nonce, value.encode(), key_id.encode())
    return f"{GCM_PREFIX}{key_id}:{base64.b64encode(nonce + sealed).decode()}"


def gcm_decrypt_str(token: str) -> str:
    return decryptor().gcm(token)


def decrypt_any_str(token: str) -> str:
    """Plaintext of either stored form."""
    return decryptor()(token)


class Decryptor:
    """Decrypts stored values of both forms with keys resolved once: exports read hundreds of thousands of values,
    and reading settings, hashing the key list and looking the key up again for each one cost twice what AES-GCM
    itself does. Take one per export (`decryptor()`), call it per value or `many()` per batch; it keeps the keys it
    was built with, so it must not outlive a change of FIELD_ENCRYPTION_KEYS.

    `None` and "" pass through unchanged (empty values are stored as they are); a value no key decrypts (tampered,
    or under a key no longer configured) raises DecryptionError, as the fields do."""

    __slots__ = ("_ads", "_ciphers", "_keys")

    def __init__(self, keys: tuple[str, ...]) -> None:
        self._keys = keys
        self._ciphers = _gcm_keys(keys)[1]
        # The key id is the associated data of every value under that key: encoded once, not per value.
        self._ads = {key_id: key_id.encode() for key_id in self._ciphers}

    def gcm(self, token: str) -> str:
        """The plaintext of a `g1:` value."""
        key_id, _, payload = token[len(GCM_PREFIX) :].partition(":")
        cipher = self._ciphers.get(key_id)
        try:
            if cipher is None or not payload:
                raise KeyError(key_id)
            raw = a2b_base64(payload)
            return cipher.decrypt(raw[:GCM_NONCE_BYTES], raw[GCM_NONCE_BYTES:], self._ads[key_id]).decode()
        except (KeyError, ValueError, InvalidTag) as exc:
            raise DecryptionError("no FIELD_ENCRYPTION_KEYS entry decrypts this value") from exc

    def __call__(self, token: str | None) -> str | None:
        if not token:
            return token
        if token.startswith(GCM_PREFIX):
            return self.gcm(token)
        try:
            return _fernet(self._keys).decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise DecryptionError("no FIELD_ENCRYPTION_KEYS entry decrypts this value") from exc

    def many(self, tokens: Iterable[str | None]) -> list[str | None]:
        """The plaintexts of a batch of stored values, in order. The AES-GCM form is decrypted inline (a call per
        value less: at two values a row it is a tenth of an export's time)."""
        tokens = tokens if isinstance(tokens, list) else list(tokens)
        plaintexts = self._many_under_one_key(tokens)
        if plaintexts is not None:
            return plaintexts
        ciphers, ads, start = self._ciphers, self._ads, len(GCM_PREFIX)
        plaintexts: list[str | None] = []
        append = plaintexts.append
        for token in tokens:
            if not token or not token.startswith(GCM_PREFIX):
                append(self(token))
                continue
            key_id, _, payload = token[start:].partition(":")
            cipher = ciphers.get(key_id)
            try:
                if cipher is None or not payload:
                    raise KeyError(key_id)
                raw = a2b_base64(payload)
                append(cipher.decrypt(raw[:GCM_NONCE_BYTES], raw[GCM_NONCE_BYTES:], ads[key_id]).decode())
            except (KeyError, ValueError, InvalidTag) as exc:
                raise DecryptionError("no FIELD_ENCRYPTION_KEYS entry decrypts this value") from exc
        return plaintexts

    def _many_under_one_key(self, tokens: list) -> list[str] | None:
        """`many` for the usual batch, every value in the AES-GCM form under one key (all written since the last key
        rotation), a step at a time over the whole batch instead of a loop body per value (a quarter less time);
        None when the batch is mixed (empty values, the old form, several keys): `many` then takes each on its own.
        """
        if not tokens or not isinstance(tokens[0], str) or not tokens[0].startswith(GCM_PREFIX):
            return None
        key_id = tokens[0][len(GCM_PREFIX) :].partition(":")[0]
        head = f"{GCM_PREFIX}{key_id}:"
        cipher = self._ciphers.get(key_id)
        try:
            if cipher is None or not all(map(str.startswith, tokens, repeat(head))):
                return None
        except TypeError:  # a None among them
            return None
        start, decrypt, associated = len(head), cipher.decrypt, self._ads[key_id]
        try:
            sealed = [a2b_base64(token[start:]) for token in tokens]
            return [decrypt(raw[:GCM_NONCE_BYTES], raw[GCM_NONCE_BYTES:], associated).decode() for raw in sealed]
        except (ValueError, InvalidTag) as exc:
            raise DecryptionError("no FIELD_ENCRYPTION_KEYS entry decrypts this value") from exc


@cache
def _decryptor(keys: tuple[str, ...]) -> Decryptor:
    return Decryptor(keys)


def decryptor() -> Decryptor:
    """The decryptor of the configured keys (one per key list, shared)."""
    return _decryptor(tuple(settings.FIELD_ENCRYPTION_KEYS))


def decrypt_many(tokens: Iterable[str | None]) -> list[str | None]:
    """Plaintexts of stored values of either form, in order; None and "" stay as they are."""
    return decryptor().many(tokens)


def stored_value_is_current(token: str, *, fast: bool) -> bool:
    """Whether a stored value is already in the field's form under the newest key."""
    if fast:
        return token.startswith(f"{GCM_PREFIX}{newest_key_id()}:")
    return not token.startswith(GCM_PREFIX) and fernet_token_is_current(token.encode())


# --- keyed hashes ---


def keyed_hash(value: str, *, purpose: str) -> str:
    """A stable pseudonym: equal inputs give equal outputs, but the input cannot be recovered without the pepper."""
    key = f"{settings.HASHING_PEPPER}:{purpose}".encode()
    return hmac.new(key, value.strip().lower().encode(), hashlib.sha256).hexdigest()


def phone_lookup_hash(e164: str) -> str:
    """The lookup column beside an encrypted number; the caller passes the E.164 form ("+639171234567")."""
    return keyed_hash(e164, purpose=PHONE_LOOKUP_PURPOSE) if e164 else ""


def email_lookup_hash(email: str) -> str:
    """The lookup column beside an encrypted e-mail address (case-insensitive, like the addresses)."""
    return keyed_hash(email, purpose=EMAIL_LOOKUP_PURPOSE) if email else ""


# --- model fields ---


class _EmptyOnlyExact(Exact):
    """`field=""` still works (empty values are stored as they are); comparing ciphertext never matches."""

    def get_prep_lookup(self):
        if self.rhs not in (None, ""):
            raise FieldError(
                f"{self.lhs.target.model.__name__}.{self.lhs.target.name} is encrypted: filter on its keyed hash"
            )
        return super().get_prep_lookup()


class EncryptedTextField(models.TextField):
    """Stores Fernet ciphertext; Python code sees plaintext. Not searchable or orderable by value, on purpose:
    any lookup but emptiness raises FieldError, so a filter that would silently match nothing cannot be written."""

    fast = False

    def get_lookup(self, lookup_name):
        if lookup_name == "exact":
            return _EmptyOnlyExact
        if lookup_name == "isnull":
            return IsNull
        return None

    def from_db_value(self, value, expression, connection):
        if value in (None, ""):
            return value
        try:
            return decrypt_any_str(value)
        except DecryptionError as exc:
            raise ValueError(f"Cannot decrypt {self.model.__name__}.{self.name}: wrong FIELD_ENCRYPTION_KEYS") from exc

    def encrypt(self, value: str) -> str:
        return encrypt_str(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value in (None, ""):
            return value
        return self.encrypt(value)


class FastEncryptedTextField(EncryptedTextField):
    """AES-256-GCM with a key id (see the module docstring): for personal data written on the send path."""

    fast = True

    def encrypt(self, value: str) -> str:
        return gcm_encrypt_str(value)


class FastEncryptedJSONField(FastEncryptedTextField):
    """A JSON value (a list of addresses, say) stored as encrypted text; Python code sees the list or dict."""

    def to_python(self, value):
        return value

    def from_db_value(self, value, expression, connection):
        if value is None:
            return None
        if value == "":
            return self.get_default()
        return json.loads(super().from_db_value(value, expression, connection))

    def get_prep_value(self, value):
        if value is None:
            return None
        return self.encrypt(json.dumps(value))

    def value_to_string(self, obj):
        return json.dumps(self.value_from_object(obj))


class LookupHashField(models.CharField):
    """The keyed hash of another column of the row (`source`), kept beside its ciphertext for lookups and indexes.

    Filled from the source whenever the row is inserted or saved with the source (like `auto_now`, in the field,
    so `bulk_create` and every other insert fill it too). `queryset.update()` and `bulk_update()` of the source
    must set it themselves."""

    def __init__(self, *args, source: str, purpose: str, **kwargs):
        self.source = source
        self.purpose = purpose
        kwargs.setdefault("max_length", LOOKUP_HASH_LENGTH)
        kwargs.setdefault("editable", False)
        kwargs.setdefault("blank", True)
        kwargs.setdefault("default", "")
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["source"] = self.source
        kwargs["purpose"] = self.purpose
        for key, default in (("max_length", LOOKUP_HASH_LENGTH), ("editable", False), ("blank", True), ("default", "")):
            if kwargs.get(key, default) == default:
                kwargs.pop(key, None)
        return name, path, args, kwargs

    def pre_save(self, model_instance, add):
        value = getattr(model_instance, self.source)
        hashed = keyed_hash(value, purpose=self.purpose) if value else ""
        setattr(model_instance, self.attname, hashed)
        return hashed


class LookupHashListField(models.TextField):
    """The lookup hashes (`phone_lookup_hash`) of the numbers held inside another, encrypted column (`source`), as
    " h1 h2 " so `contains` matches a whole hash. The service that writes the source fills it: the numbers sit
    inside a structure only that service knows."""

    def __init__(self, *args, source: str, **kwargs):
        self.source = source
        kwargs.setdefault("blank", True)
        kwargs.setdefault("default", "")
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["source"] = self.source
        for key, default in (("blank", True), ("default", ""), ("editable", False)):
            if kwargs.get(key, default) == default:
                kwargs.pop(key, None)
        return name, path, args, kwargs
