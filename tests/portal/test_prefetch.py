"""`prefetched_chunks` hands over every chunk in order, raises what reading raised, and stops its reader when the
caller stops early (a cancelled download), before the caller closes the cursor."""

import threading

import pytest

from portal.prefetch import prefetched_chunks


class Rows:
    def __init__(self, count: int, *, fail_at: int | None = None):
        self.rows = list(range(count))
        self.fail_at = fail_at
        self.fetches = 0

    def fetchmany(self, size: int) -> list:
        self.fetches += 1
        if self.fail_at is not None and self.fetches == self.fail_at:
            raise RuntimeError("connection lost")
        chunk, self.rows = self.rows[:size], self.rows[size:]
        return chunk


def test_every_row_in_order_in_chunks():
    chunks = list(prefetched_chunks(Rows(10), 3))
    assert chunks == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]


def test_nothing_to_read():
    assert list(prefetched_chunks(Rows(0), 3)) == []


def test_an_error_while_reading_reaches_the_caller_after_the_chunks_before_it():
    read = []
    with pytest.raises(RuntimeError, match="connection lost"):
        for chunk in prefetched_chunks(Rows(10, fail_at=3), 2):
            read.append(chunk)
    assert read == [[0, 1], [2, 3]]


def test_a_caller_that_stops_early_stops_the_reader():
    rows = Rows(10_000)
    chunks = prefetched_chunks(rows, 10, ahead=2)
    assert next(chunks) == list(range(10))
    chunks.close()
    assert not [t for t in threading.enumerate() if t.name == "prefetch"]
    # Read ahead by at most the queue, the chunk being handed over and the one handed out.
    assert rows.fetches <= 5
