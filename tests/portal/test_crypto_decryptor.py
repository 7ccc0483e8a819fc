"""`portal.crypto.Decryptor` (exports decrypt hundreds of thousands of values with it): it reads exactly what the
fields write, values under an older key after rotation too, rejects a tampered value or one under a key no longer
configured, and passes None and "" through as the fields store them."""

import base64

import pytest

from portal.crypto import (
    GCM_PREFIX,
    DecryptionError,
    Decryptor,
    decrypt_any_str,
    decrypt_many,
    decryptor,
    encrypt_str,
    gcm_decrypt_str,
    gcm_encrypt_str,
    newest_key_id,
)

OLD_KEY = base64.urlsafe_b64encode(b"o" * 32).decode()
NEW_KEY = base64.urlsafe_b64encode(b"n" * 32).decode()
VALUES = ["+639171234567", "Your order 12345 has shipped", "", "Ñino’s café: ₱1,250.00 🎉", "=HYPERLINK(1)", "x" * 2000]


def _tampered(token: str) -> str:
    """The same value with one bit of its ciphertext flipped."""
    head, payload = token.rsplit(":", 1)
    raw = bytearray(base64.b64decode(payload))
    raw[-20] ^= 1
    return f"{head}:{base64.b64encode(bytes(raw)).decode()}"


def test_round_trip_in_order_and_the_stored_form_is_unchanged(settings):
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY]
    tokens = [gcm_encrypt_str(value) if value else value for value in VALUES]
    assert all(token.startswith(f"{GCM_PREFIX}{newest_key_id()}:") for token in tokens if token)

    assert decrypt_many(tokens) == VALUES
    assert decryptor().many(iter(tokens)) == VALUES  # any iterable, one pass
    assert [decryptor()(token) for token in tokens] == VALUES
    # The per-value functions the fields use answer the same.
    assert [gcm_decrypt_str(token) for token in tokens if token] == [value for value in VALUES if value]


def test_none_and_empty_pass_through():
    assert decrypt_many([None, "", None]) == [None, "", None]
    assert decryptor()(None) is None
    assert decryptor()("") == ""
    assert decrypt_many([]) == []


def test_values_under_several_keys_after_rotation_decrypt_in_one_batch(settings):
    settings.FIELD_ENCRYPTION_KEYS = [OLD_KEY]
    old_gcm, old_fernet = gcm_encrypt_str("old gcm"), encrypt_str("old fernet")
    old_id = newest_key_id()
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]  # a new key prepended: the rotation's first step
    new_gcm = gcm_encrypt_str("new gcm")
    assert newest_key_id() != old_id
    assert new_gcm.startswith(f"{GCM_PREFIX}{newest_key_id()}:") and old_gcm.startswith(f"{GCM_PREFIX}{old_id}:")

    assert decrypt_many([old_gcm, new_gcm, old_fernet, None]) == ["old gcm", "new gcm", "old fernet", None]

    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY]  # the old key dropped: its values no longer read
    assert decrypt_many([new_gcm]) == ["new gcm"]
    for token in (old_gcm, old_fernet):
        with pytest.raises(DecryptionError):
            decrypt_many([new_gcm, token])


def test_a_decryptor_keeps_the_keys_it_was_built_with(settings):
    settings.FIELD_ENCRYPTION_KEYS = [OLD_KEY]
    token = gcm_encrypt_str("kept")
    built = decryptor()
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY]
    assert built(token) == "kept"
    assert Decryptor((OLD_KEY,)).many([token]) == ["kept"]
    with pytest.raises(DecryptionError):
        decryptor()(token)


@pytest.mark.parametrize(
    "mangle",
    [
        pytest.param(_tampered, id="ciphertext-bit-flipped"),
        pytest.param(lambda token: token[:-4] + ("AAAA" if token[-4:] != "AAAA" else "BBBB"), id="tag-changed"),
        pytest.param(lambda token: GCM_PREFIX + "00000000" + token[len(GCM_PREFIX) + 8 :], id="unknown-key-id"),
        pytest.param(lambda token: token.rsplit(":", 1)[0] + ":", id="no-payload"),
        pytest.param(lambda token: token.rsplit(":", 1)[0], id="no-separator"),
        pytest.param(lambda token: token.rsplit(":", 1)[0] + ":" + "é" * 40, id="not-base64"),
        pytest.param(lambda token: token.rsplit(":", 1)[0] + ":QUJD", id="too-short"),
        pytest.param(lambda token: "not a stored value", id="neither-form"),
    ],
)
def test_a_tampered_or_foreign_value_is_rejected(settings, mangle):
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY]
    token = mangle(gcm_encrypt_str("+639171234567"))
    with pytest.raises(DecryptionError):
        decrypt_many([gcm_encrypt_str("fine"), token])
    with pytest.raises(DecryptionError):
        decrypt_any_str(token)


def test_a_tampered_key_id_is_rejected_even_when_the_key_exists(settings):
    """The key id is authenticated (it is the associated data): a value moved under another configured key id does
    not decrypt."""
    settings.FIELD_ENCRYPTION_KEYS = [OLD_KEY]
    old_id = newest_key_id()
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    token = gcm_encrypt_str("moved")
    moved = token.replace(f"{GCM_PREFIX}{newest_key_id()}:", f"{GCM_PREFIX}{old_id}:", 1)
    with pytest.raises(DecryptionError):
        decrypt_many([moved])


def test_a_batch_under_one_key_reads_the_same_as_value_by_value(settings):
    """The usual batch (every value AES-GCM under the newest key) is decrypted a step at a time over the whole batch;
    a batch with an empty value, a None or a second key among them is read value by value. Both give the same."""
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY]
    values = [f"{text} {number}" for number in range(300) for text in VALUES if text]
    tokens = [gcm_encrypt_str(value) for value in values]
    built = decryptor()
    assert built.many(tokens) == values == [built(token) for token in tokens]
    assert built.many([*tokens[:5], None, "", *tokens[5:10]]) == [*values[:5], None, "", *values[5:10]]

    settings.FIELD_ENCRYPTION_KEYS = [OLD_KEY, NEW_KEY]
    mixed = [*tokens[:3], gcm_encrypt_str("under the old key"), *tokens[3:6]]
    assert decrypt_many(mixed) == [*values[:3], "under the old key", *values[3:6]]
