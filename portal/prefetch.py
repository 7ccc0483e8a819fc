"""Producing the next item of a stream in a thread while the caller works on the current one.

PostgreSQL produces a server-side cursor's rows only when asked (`FETCH`), so an export that reads a chunk, then
formats it, then reads the next leaves the database's core idle while Python works and Python's idle while the
database works. A reader thread asks for the next chunk as soon as the current one is handed over: the two overlap
(the thread waits for the database without holding the GIL). At most `ahead` items wait, so memory stays bounded
by the chunk size. (The cursor must stream: inside a transaction; in autocommit PostgreSQL declares it WITH HOLD and
runs the whole query at the first fetch.)

The source is used by the reader thread alone until the generator ends; when the caller stops early (a download
cancelled) the thread is stopped and joined before the generator returns, so the caller can close the cursor.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")

_END = object()


def prefetched(items: Iterable[T], *, ahead: int = 2) -> Iterator[T]:
    """The items of `items` in order, the next ones produced by a thread while the caller handles this one. An
    error raised while producing is raised here, after the items before it."""
    handed: queue.Queue = queue.Queue(maxsize=ahead)
    stop = threading.Event()

    def hand_over(item: Any) -> bool:
        while not stop.is_set():
            try:
                handed.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not hand_over(item):
                    return
        except BaseException as error:  # handed to the caller, which raises it
            hand_over(error)
            return
        hand_over(_END)

    producer = threading.Thread(target=produce, name="prefetch", daemon=True)
    producer.start()
    try:
        while True:
            item = handed.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        producer.join()


def prefetched_chunks(cursor: Any, size: int, *, ahead: int = 2) -> Iterator[list]:
    """`cursor.fetchmany(size)` chunk after chunk (none empty), each fetched while the caller handles the one
    before."""
    return prefetched(iter(lambda: cursor.fetchmany(size), []), ahead=ahead)
