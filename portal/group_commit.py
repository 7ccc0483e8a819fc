"""Work that arrives at the same time in one process, done together: one transaction for many callers.

A write that is small and frequent (one API message) pays a transaction's fixed costs (BEGIN, a few statements,
COMMIT) for very little data. `GroupCommit.submit` lets the threads of one process share them: the first caller
becomes the leader and runs `run_batch` on what is waiting (its own item first); callers arriving while it runs
wait, and when it is done the first of them leads the next batch with everything that gathered meanwhile. Nobody
waits for a timer: alone, a caller runs its own item at once, and a batch only forms while another is running.

Each caller gets its own outcome. `run_batch` is either all or nothing (one transaction): when it raises for a
batch of several items, each item is run again on its own, so one caller's refusal (no credits, say) reaches that
caller only, and the others' items are done as if they had come alone. Or it does the items in parts that commit
on their own: then it must not raise once a part has committed (that part would be done twice), and answers an
item that failed with `ItemFailed(error)`, which is raised in that item's caller only.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Outcome = TypeVar("Outcome")


class ItemFailed:
    """`run_batch`'s answer for one item that failed while the others were done: its caller gets `error`."""

    __slots__ = ("error",)

    def __init__(self, error: Exception) -> None:
        self.error = error


class _Slot(Generic[Item, Outcome]):
    __slots__ = ("done", "error", "item", "leads", "outcome", "ready")

    def __init__(self, item: Item) -> None:
        self.item = item
        self.ready = threading.Event()
        self.leads = False
        self.done = False
        self.outcome: Outcome | None = None
        self.error: BaseException | None = None

    def finish(self, *, outcome: Outcome | None = None, error: BaseException | None = None) -> None:
        self.outcome, self.error, self.done = outcome, error, True


class GroupCommit(Generic[Item, Outcome]):
    """`submit(item)` returns `run_batch(...)`'s outcome for that item, or raises its error (see the module)."""

    def __init__(
        self, run_batch: Callable[[Sequence[Item]], Sequence[Outcome | ItemFailed]], *, max_items: int
    ) -> None:
        if max_items < 1:
            raise ValueError("max_items must be at least 1.")
        self._run_batch = run_batch
        self._max_items = max_items
        self._lock = threading.Lock()
        self._waiting: list[_Slot] = []
        self._leading = False
        # Batches run and items per batch, for benchmarks and tests: how much was shared.
        self.batches = 0
        self.items = 0

    def submit(self, item: Item) -> Outcome:
        slot: _Slot = _Slot(item)
        with self._lock:
            self._waiting.append(slot)
            if not self._leading:
                self._leading = slot.leads = True
        if not slot.leads:
            slot.ready.wait()  # set with an outcome, or to hand this caller the lead
        if slot.leads:
            self._lead()
        if slot.error is not None:
            raise slot.error
        return slot.outcome  # type: ignore[return-value]

    def _lead(self) -> None:
        with self._lock:
            # The leader is the oldest waiting caller: its own item is first in the batch.
            batch, self._waiting = self._waiting[: self._max_items], self._waiting[self._max_items :]
        try:
            self._run(batch)
        finally:
            for slot in batch:
                if not slot.done:
                    slot.finish(error=RuntimeError("The batch this item was part of stopped before it was done."))
            with self._lock:
                if self._waiting:
                    successor = self._waiting[0]
                    successor.leads = True
                    successor.ready.set()
                else:
                    self._leading = False
            for slot in batch:
                slot.leads = False
                slot.ready.set()

    def _run(self, batch: list[_Slot]) -> None:
        self.batches += 1
        self.items += len(batch)
        try:
            outcomes = self._run_batch([slot.item for slot in batch])
        except Exception as exc:
            if len(batch) == 1:
                batch[0].finish(error=exc)
                return
            # One item's refusal must not become the others': each again on its own.
            for slot in batch:
                try:
                    [outcome] = self._run_batch([slot.item])
                except Exception as single_exc:
                    slot.finish(error=single_exc)
                else:
                    slot.finish(outcome=outcome)
            return
        for slot, outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, ItemFailed):
                slot.finish(error=outcome.error)
            else:
                slot.finish(outcome=outcome)
