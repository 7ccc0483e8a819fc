"""Moving encrypted data to the newest key (`manage.py rotate_keys`) and encrypting columns that were plaintext.

Both work on the raw column, in primary-key batches of one short transaction each, and change a row only if its
value is still the one read (`UPDATE ... WHERE pk = %s AND col = %s`): no table lock, a row written meanwhile by
the site keeps the site's value (already under the newest key). Rotation skips values already under the newest
key, so a run stopped half-way starts again where it matters: nothing is re-encrypted twice.

portal does not import the apps: the encrypted columns are found by walking `apps.get_models()` for the field
classes of `portal.crypto`, the encrypted files by their header under PRIVATE_STORAGE_ROOT.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.db import connections, models, router, transaction

from portal.crypto import (
    GCM_PREFIX,
    EncryptedTextField,
    decrypt_any_str,
    encrypt_str,
    gcm_encrypt_str,
    keyed_hash,
    stored_value_is_current,
)
from portal.encrypted_files import encrypted_file_is_current, is_encrypted_file, reencrypt_file

BATCH_SIZE = 500


@dataclass
class RotationReport:
    rows_checked: int = 0
    rows_rotated: int = 0
    files_checked: int = 0
    files_rotated: int = 0
    per_column: dict[str, int] = field(default_factory=dict)


def encrypted_columns() -> list[tuple[type[models.Model], EncryptedTextField]]:
    """Every concrete encrypted column of the installed models."""
    found = []
    for model in apps.get_models():
        if model._meta.proxy or not model._meta.managed:
            continue
        for model_field in model._meta.concrete_fields:
            if isinstance(model_field, EncryptedTextField):
                found.append((model, model_field))
    return found


def _quote(connection, name: str) -> str:
    return connection.ops.quote_name(name)


def _batches(connection, table: str, pk: str, columns: list[str], batch_size: int) -> Iterator[list[tuple]]:
    """Rows (pk, *columns) in ascending primary-key batches; each batch is read in its own short query."""
    select = ", ".join(_quote(connection, name) for name in [pk, *columns])
    last = None
    while True:
        where = f"WHERE {_quote(connection, pk)} > %s " if last is not None else ""
        sql = f"SELECT {select} FROM {_quote(connection, table)} {where}ORDER BY {_quote(connection, pk)} LIMIT %s"  # noqa: S608 (names from model metadata, quoted; values bound)
        with connection.cursor() as cursor:
            cursor.execute(sql, [last, batch_size] if last is not None else [batch_size])
            rows = cursor.fetchall()
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def _rotate_column(model: type[models.Model], model_field: EncryptedTextField, *, batch_size: int) -> tuple[int, int]:
    alias = router.db_for_write(model)
    if not router.allow_migrate_model(alias, model):
        return 0, 0
    connection = connections[alias]
    table, pk, column = model._meta.db_table, model._meta.pk.column, model_field.column
    encrypt = gcm_encrypt_str if model_field.fast else encrypt_str
    update = (
        f"UPDATE {_quote(connection, table)} SET {_quote(connection, column)} = %s "  # noqa: S608 (names from model metadata, quoted; values bound)
        f"WHERE {_quote(connection, pk)} = %s AND {_quote(connection, column)} = %s"
    )
    checked = rotated = 0
    for rows in _batches(connection, table, pk, [column], batch_size):
        changes = []
        for row_pk, value in rows:
            if value in (None, ""):
                continue
            checked += 1
            if not stored_value_is_current(value, fast=model_field.fast):
                changes.append((encrypt(decrypt_any_str(value)), row_pk, value))
        if changes:
            with transaction.atomic(using=alias), connection.cursor() as cursor:
                cursor.executemany(update, changes)
            rotated += len(changes)
    return checked, rotated


def encrypted_files(root: Path | None = None) -> Iterator[Path]:
    root = Path(root or settings.PRIVATE_STORAGE_ROOT)
    if not root.exists():
        return
    for directory, _, names in os.walk(root):
        for name in sorted(names):
            path = Path(directory) / name
            if is_encrypted_file(path):
                yield path


def rotate_keys(*, batch_size: int = BATCH_SIZE, progress: Callable[[str], None] | None = None) -> RotationReport:
    """Re-encrypt every encrypted column and file under the newest FIELD_ENCRYPTION_KEYS entry."""
    report = RotationReport()
    for model, model_field in encrypted_columns():
        checked, rotated = _rotate_column(model, model_field, batch_size=batch_size)
        label = f"{model._meta.label}.{model_field.name}"
        report.rows_checked += checked
        report.rows_rotated += rotated
        report.per_column[label] = rotated
        if progress and checked:
            progress(f"{label}: {rotated} of {checked} value(s) re-encrypted")
    for path in encrypted_files():
        report.files_checked += 1
        if not encrypted_file_is_current(path):
            reencrypt_file(path)
            report.files_rotated += 1
    if progress:
        progress(f"files: {report.files_rotated} of {report.files_checked} re-encrypted")
    return report


# --- encrypting columns that held plaintext (data migrations) ---


def encrypt_plaintext_columns(
    connection,
    *,
    table: str,
    columns: list[str],
    hashes: dict[str, tuple[str, str]] | None = None,
    batch_size: int = 1000,
    pk: str = "id",
) -> int:
    """Encrypt (AES-GCM) the plaintext values of `columns` in place and fill each lookup-hash column from its
    source: `hashes` = {hash column: (source column, keyed_hash purpose)}. Values already encrypted are left
    alone, so the migration can run again after a stop. A source value that is already a pseudonym ("h:...",
    an erased number) is its own hash: it must not be found by a number again. Returns the rows changed."""
    hashes = hashes or {}
    sources = list(dict.fromkeys([*columns, *(source for source, _ in hashes.values())]))
    assignments = ", ".join(f"{_quote(connection, name)} = %s" for name in [*columns, *hashes])
    update = f"UPDATE {_quote(connection, table)} SET {assignments} WHERE {_quote(connection, pk)} = %s"  # noqa: S608 (names from model metadata, quoted; values bound)
    changed = 0
    for rows in _batches(connection, table, pk, sources, batch_size):
        changes = []
        for row_pk, *values in rows:
            plain = dict(zip(sources, values, strict=True))
            if all(_is_ciphertext(plain[name]) for name in columns):
                continue
            for name, value in list(plain.items()):
                if _is_ciphertext(value):
                    plain[name] = decrypt_any_str(value)
            new_values = [gcm_encrypt_str(plain[name]) if plain[name] else plain[name] for name in columns]
            for source, purpose in hashes.values():
                value = plain[source] or ""
                new_values.append(
                    value if value.startswith("h:") else keyed_hash(value, purpose=purpose) if value else ""
                )
            changes.append((*new_values, row_pk))
        if changes:
            with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
                cursor.executemany(update, changes)
            changed += len(changes)
    return changed


def decrypt_columns(connection, *, table: str, columns: list[str], batch_size: int = 1000, pk: str = "id") -> int:
    """The reverse of `encrypt_plaintext_columns` (migrating back): ciphertext becomes plaintext again."""
    assignments = ", ".join(f"{_quote(connection, name)} = %s" for name in columns)
    update = f"UPDATE {_quote(connection, table)} SET {assignments} WHERE {_quote(connection, pk)} = %s"  # noqa: S608 (names from model metadata, quoted; values bound)
    changed = 0
    for rows in _batches(connection, table, pk, columns, batch_size):
        changes = [
            (*[decrypt_any_str(value) if _is_ciphertext(value) else value for value in values], row_pk)
            for row_pk, *values in rows
            if any(_is_ciphertext(value) for value in values)
        ]
        if changes:
            with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
                cursor.executemany(update, changes)
            changed += len(changes)
    return changed


def _is_ciphertext(value) -> bool:
    # Fernet tokens start with version byte 0x80, "gAAAAA" in base64; nothing a person types looks like either.
    return isinstance(value, str) and (value.startswith(GCM_PREFIX) or value.startswith("gAAAAA"))
