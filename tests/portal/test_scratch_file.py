"""`portal.encrypted_files.ScratchFile` (an export's CSV while it waits for its turn in the archive) gives back what
was written, holds no text in clear and refuses a changed file."""

import pytest
from cryptography.exceptions import InvalidTag

from portal.encrypted_files import SCRATCH_FRAME_BYTES, ScratchFile


def test_the_csv_spool_gives_back_what_was_written_and_keeps_no_text_on_disk(tmp_path):
    lines = [f"{number},=SUM(A{number}),+639171234567,message {number}\r\n".encode() for number in range(20000)]
    spool = ScratchFile(tmp_path / "spool.part")
    for line in lines:
        spool.write(line)
    spool.finish()

    stored = (tmp_path / "spool.part").read_bytes()
    assert b"message" not in stored and b"639171234567" not in stored
    frames = list(spool.read())
    assert len(frames) > 1 and all(len(frame) <= SCRATCH_FRAME_BYTES + len(lines[-1]) for frame in frames)
    assert b"".join(frames) == b"".join(lines)


def test_a_changed_spool_is_refused(tmp_path):
    spool = ScratchFile(tmp_path / "spool.part")
    spool.write(b"record_id,body\r\n1,hello\r\n")
    spool.finish()
    stored = bytearray((tmp_path / "spool.part").read_bytes())
    stored[-1] ^= 1
    (tmp_path / "spool.part").write_bytes(bytes(stored))

    with pytest.raises(InvalidTag):
        list(spool.read())
