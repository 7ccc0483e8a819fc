"""Producing the next item of a stream in a thread while the caller works on the current one (`prefetched`), and
running the writes of one item in a thread while the caller builds the next (`WriterThread`).

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


class WriterThread:
    """Calls handed over (`writer(function, *args)`) run one after another, in order, in a thread of its own while the
    caller builds the next ones: writing a large export compresses it (zlib, which lets go of the GIL) and encrypts
    it, work that can run on another core while the caller formats the next rows. At most `ahead` calls wait, so
    memory stays bounded by what they hold.

    An error raised by a call is raised to the caller, at its next hand-over or on leaving the `with` block; the
    calls after it are dropped. Leaving the block waits for the calls (or, on an error, drops them) and stops the
    thread, so whatever they write to can be used or closed after it."""

    def __init__(self, *, ahead: int = 4) -> None:
        self._calls: queue.Queue = queue.Queue(maxsize=ahead)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (call := self._calls.get()) is not _END:
            if self._error is not None:
                continue
            function, args = call
            try:
                function(*args)
            except BaseException as error:  # handed to the caller, which raises it
                self._error = error

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def __call__(self, function: Any, *args: Any) -> None:
        self._raise()
        self._calls.put((function, args))

    def __enter__(self) -> WriterThread:
        return self

    def __exit__(self, kind: Any, error: Any, traceback: Any) -> None:
        if kind is not None:
            self._error = self._error or error  # the calls still waiting are dropped
        self._calls.put(_END)
        self._thread.join()
        if kind is None:
            self._raise()
