"""GroupCommit: callers that arrive while a batch runs are done together in the next one, each gets its own outcome,
and one item's failure reaches its own caller only."""

import threading

import pytest

from portal.group_commit import GroupCommit, ItemFailed


class Recorder:
    """A batch function that records each batch, can hold the first batch until released, and refuses some items."""

    def __init__(self, refuse=()):
        self.batches: list[list] = []
        self.first_running = threading.Event()
        self.release_first = threading.Event()
        self.refuse = set(refuse)

    def __call__(self, items):
        self.batches.append(list(items))
        if len(self.batches) == 1:
            self.first_running.set()
            assert self.release_first.wait(10)
        refused = [item for item in items if item in self.refuse]
        if refused:
            raise ValueError(f"refused {refused[0]}")
        return [item * 10 for item in items]


def submit_in_thread(group, item, outcomes):
    def run():
        try:
            outcomes[item] = group.submit(item)
        except Exception as exc:  # what the caller would see
            outcomes[item] = exc

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def wait_until_waiting(group, count):
    for _ in range(1000):
        with group._lock:
            if len(group._waiting) >= count:
                return
        threading.Event().wait(0.005)
    raise AssertionError(f"{count} callers never queued")


def submit_while_the_first_batch_runs(group, recorder, later_items):
    """Item 1 alone, held in its batch until every later item waits; then all run. Returns each caller's outcome."""
    outcomes: dict = {}
    first = submit_in_thread(group, 1, outcomes)
    assert recorder.first_running.wait(10)
    others = [submit_in_thread(group, item, outcomes) for item in later_items]
    wait_until_waiting(group, len(later_items))
    recorder.release_first.set()
    for thread in [first, *others]:
        thread.join(10)
    return outcomes


def test_a_caller_alone_runs_its_own_item_at_once():
    recorder = Recorder()
    recorder.release_first.set()
    group = GroupCommit(recorder, max_items=8)
    assert group.submit(3) == 30
    assert recorder.batches == [[3]]


def test_callers_arriving_during_a_batch_are_done_together_in_the_next():
    recorder = Recorder()
    group = GroupCommit(recorder, max_items=8)
    outcomes = submit_while_the_first_batch_runs(group, recorder, (2, 3, 4))
    assert recorder.batches[0] == [1]
    assert sorted(recorder.batches[1]) == [2, 3, 4]
    assert len(recorder.batches) == 2
    assert outcomes == {1: 10, 2: 20, 3: 30, 4: 40}
    assert (group.batches, group.items) == (2, 4)


def test_a_batch_takes_at_most_max_items_and_the_rest_follow():
    recorder = Recorder()
    group = GroupCommit(recorder, max_items=2)
    outcomes = submit_while_the_first_batch_runs(group, recorder, (2, 3, 4, 5, 6))
    assert [len(batch) for batch in recorder.batches] == [1, 2, 2, 1]
    assert outcomes == {item: item * 10 for item in range(1, 7)}


def test_a_refused_item_fails_its_own_caller_only_and_the_others_are_done_alone():
    recorder = Recorder(refuse={3})
    group = GroupCommit(recorder, max_items=8)
    outcomes = submit_while_the_first_batch_runs(group, recorder, (2, 3, 4))
    assert isinstance(outcomes[3], ValueError)
    assert str(outcomes[3]) == "refused 3"
    assert {item: outcomes[item] for item in (1, 2, 4)} == {1: 10, 2: 20, 4: 40}
    # The shared batch failed whole, then each of its items ran alone.
    assert sorted(recorder.batches[1]) == [2, 3, 4]
    assert sorted(map(tuple, recorder.batches[2:])) == [(2,), (3,), (4,)]


def test_an_item_answered_as_failed_fails_its_own_caller_and_nothing_runs_again():
    class DoneInParts(Recorder):
        """Each item done on its own (committed in parts): a failed one is answered, never raised."""

        def __call__(self, items):
            done = super().__call__([item for item in items if item != 3])
            answers = iter(done)
            return [ItemFailed(ValueError("refused 3")) if item == 3 else next(answers) for item in items]

    recorder = DoneInParts()
    group = GroupCommit(recorder, max_items=8)
    outcomes = submit_while_the_first_batch_runs(group, recorder, (2, 3, 4))
    assert isinstance(outcomes[3], ValueError) and str(outcomes[3]) == "refused 3"
    assert {item: outcomes[item] for item in (1, 2, 4)} == {1: 10, 2: 20, 4: 40}
    assert len(recorder.batches) == 2  # no item ran a second time


def test_a_leader_stopped_by_a_base_exception_leaves_no_caller_waiting():
    release = threading.Event()
    running = threading.Event()

    def stops(items):
        if 1 in items:
            running.set()
            assert release.wait(10)
            raise KeyboardInterrupt
        return [item * 10 for item in items]

    group = GroupCommit(stops, max_items=8)
    outcomes: dict = {}

    def lead():
        try:
            group.submit(1)
        except KeyboardInterrupt:
            outcomes[1] = "stopped"

    leader = threading.Thread(target=lead)
    leader.start()
    assert running.wait(10)
    follower = submit_in_thread(group, 2, outcomes)
    wait_until_waiting(group, 1)
    release.set()
    leader.join(10)
    follower.join(10)
    assert not follower.is_alive()
    assert outcomes == {1: "stopped", 2: 20}  # the follower led the next batch itself


def test_max_items_must_be_positive():
    with pytest.raises(ValueError):
        GroupCommit(lambda items: items, max_items=0)
