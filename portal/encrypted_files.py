"""Files encrypted at rest (privacy exports, bulk-send uploads): written as a stream, read as a stream.

Format: MAGIC, then frames of [4-byte big-endian length][Fernet token of up to CHUNK bytes of plaintext]. Every
frame is encrypted with `portal.crypto` (the current FIELD_ENCRYPTION_KEYS), so `manage.py rotate_keys` finds the
files by their MAGIC and re-encrypts them frame by frame. Files are created with mode 0600.
"""

from __future__ import annotations

import io
import os
import secrets
import struct
from collections.abc import Iterator
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from portal.crypto import decrypt_bytes, encrypt_bytes, fernet_token_is_current

MAGIC = b"PDXE1\n"
CHUNK = 64 * 1024  # plaintext per encrypted frame: the memory a reader or writer holds at once
FRAME_HEADER = struct.Struct(">I")
PRIVATE_FILE_MODE = 0o600


def open_private(path: Path):
    """A new file only the service's user can read (mode 0600 from its creation, whatever the umask)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE)
    os.fchmod(descriptor, PRIVATE_FILE_MODE)
    return os.fdopen(descriptor, "wb")


class EncryptedChunkWriter:
    """A write-only, non-seekable file object: buffers CHUNK bytes, writes each as one encrypted frame."""

    def __init__(self, raw, chunk_size: int = CHUNK) -> None:
        self._raw = raw
        self._chunk_size = chunk_size
        self._buffer = bytearray()
        self._position = 0
        self._raw.write(MAGIC)

    def write(self, data) -> int:
        self._buffer += data
        self._position += len(data)
        while len(self._buffer) >= self._chunk_size:
            self._emit(bytes(self._buffer[: self._chunk_size]))
            del self._buffer[: self._chunk_size]
        return len(data)

    def _emit(self, plain: bytes) -> None:
        token = encrypt_bytes(plain)
        self._raw.write(FRAME_HEADER.pack(len(token)))
        self._raw.write(token)

    def tell(self) -> int:
        return self._position

    def seek(self, *args):
        raise io.UnsupportedOperation("encrypted streams cannot seek")

    def seekable(self) -> bool:
        return False

    def writable(self) -> bool:
        return True

    def flush(self) -> None:
        pass

    def close(self) -> None:
        if self._buffer:
            self._emit(bytes(self._buffer))
            self._buffer.clear()
        self._raw.flush()


def _tokens(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        if handle.read(len(MAGIC)) != MAGIC:
            raise ValueError(f"{path.name} is not an encrypted file")
        while True:
            header = handle.read(FRAME_HEADER.size)
            if not header:
                return
            (length,) = FRAME_HEADER.unpack(header)
            token = handle.read(length)
            if len(token) != length:
                raise ValueError(f"{path.name} is truncated")
            yield token


def decrypt_stream(path: Path) -> Iterator[bytes]:
    """Plaintext chunks of an encrypted file, one frame at a time."""
    for token in _tokens(path):
        yield decrypt_bytes(token)


class DecryptingReader(io.RawIOBase):
    """A readable binary file object over an encrypted file (e.g. for `io.TextIOWrapper` and `csv.reader`)."""

    def __init__(self, path: Path) -> None:
        self._chunks = decrypt_stream(path)
        self._pending = b""

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self._chunks.close()  # closes the underlying file
        super().close()

    def readinto(self, buffer) -> int:
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._pending = chunk
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


def is_encrypted_file(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(len(MAGIC)) == MAGIC
    except OSError:
        return False


def encrypted_file_is_current(path: Path) -> bool:
    return all(fernet_token_is_current(token) for token in _tokens(path))


def reencrypt_file(path: Path) -> None:
    """Write the file again under the newest key, beside it, then swap it in (readers holding the old file
    keep reading the old one)."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.rotating")
    try:
        with open_private(temporary) as raw:
            writer = EncryptedChunkWriter(raw)
            for chunk in decrypt_stream(path):
                writer.write(chunk)
            writer.close()
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


# A scratch file is sealed with a key of its own (AES-GCM), made for it and kept in memory only: only the process that
# writes it can read it back (one a crash leaves behind is noise, and `rotate_keys` has nothing to do with it).
# AES-GCM costs a twentieth of Fernet's 3 ms a MB, so an export's CSV text is kept as it is, for a while taking its
# size on disk (about 200 MB for a million messages): compressing it for the scratch file, then inflating it and
# compressing it again for the archive, cost 0.3-1.4 of 10.4 CPU seconds at a million messages. Frames of 64 KB: one
# is what a scratch file holds in memory.
SCRATCH_FRAME_BYTES = 1 << 16


class ScratchFile:
    """Bytes written now and read back later by the same process: frames of up to SCRATCH_FRAME_BYTES, each sealed by
    AES-GCM under the file's own key (the frame's number is its nonce), in a file only the service's user can read.
    `write` as often as needed, `finish`, then `read`; `close` releases the file whatever happened."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._raw = open_private(path)
        self._cipher = AESGCM(AESGCM.generate_key(bit_length=128))
        self._frames = 0
        self._buffer = bytearray()

    def write(self, data: bytes) -> None:
        self._buffer += data
        if len(self._buffer) >= SCRATCH_FRAME_BYTES:
            self._seal(bytes(self._buffer))
            self._buffer.clear()

    def _seal(self, frame: bytes) -> None:
        sealed = self._cipher.encrypt(self._frames.to_bytes(12, "big"), frame, None)
        self._raw.write(FRAME_HEADER.pack(len(sealed)) + sealed)
        self._frames += 1

    def finish(self) -> None:
        if self._buffer:
            self._seal(bytes(self._buffer))
            self._buffer.clear()
        self._raw.close()

    def close(self) -> None:
        self._raw.close()

    def read(self) -> Iterator[bytes]:
        """What was written, a frame at a time (after `finish`); every frame there, in order, or an error."""
        with open(self.path, "rb") as sealed_file:
            for number in range(self._frames):
                (length,) = FRAME_HEADER.unpack(sealed_file.read(FRAME_HEADER.size))
                yield self._cipher.decrypt(number.to_bytes(12, "big"), sealed_file.read(length), None)
            if sealed_file.read(1):
                raise ValueError(f"{self.path.name}: more than was written")
