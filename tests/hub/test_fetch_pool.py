"""The one fetch engine: results in order; the first failure stops queued and running jobs alike."""

from __future__ import annotations

import errno
import threading

import pytest

from hg_localization.errors import IntegrityError, LocalFileError, UpstreamError
from hg_localization.hub.fetch_pool import FetchPool, FetchStopped, most_telling


def test_every_job_runs_and_results_keep_the_order_of_the_items() -> None:
    pool = FetchPool(3)
    assert pool.run(list(range(10)), lambda n: n * n) == [n * n for n in range(10)]
    assert FetchPool(3).run([], lambda n: n) == []


def test_the_first_failure_stops_running_jobs_at_their_next_chunk_and_queued_ones_never_start() -> None:
    pool = FetchPool(2, grace_seconds=30)
    started: list[str] = []
    chunks_after_the_failure: list[int] = []
    running = threading.Event()
    lock = threading.Lock()

    def job(name: str) -> str:
        with lock:
            started.append(name)
        if name == "fails":
            running.wait(timeout=30)
            raise UpstreamError("the Hub went away")
        running.set()
        for chunk in range(10_000):  # a long download: stops only when told to
            if pool.stopping:
                chunks_after_the_failure.append(chunk)
            pool.check_stop()
            threading.Event().wait(0.001)
        return name

    with pytest.raises(UpstreamError, match="went away"):
        pool.run(["long", "fails", "queued-1", "queued-2"], job)
    assert sorted(started) == ["fails", "long"]
    assert len(chunks_after_the_failure) == 1  # it stopped at the first chunk after the failure


def test_a_job_picked_up_after_the_stop_never_starts() -> None:
    pool = FetchPool(1)
    ran: list[int] = []

    def job(n: int) -> int:
        ran.append(n)
        raise UpstreamError("no")

    with pytest.raises(UpstreamError):
        pool.run([1, 2, 3], job)
    assert ran == [1]
    with pytest.raises(FetchStopped):
        pool.check_stop()


def _disk_full() -> LocalFileError:
    error = LocalFileError("The disk is full.")
    error.__cause__ = OSError(errno.ENOSPC, "No space left on device")
    return error


def test_the_error_reported_is_a_mismatch_then_a_full_disk_then_the_first() -> None:
    first, full, mismatch = UpstreamError("first"), _disk_full(), IntegrityError("f", "a" * 64, "b" * 64)
    assert most_telling([first, full, mismatch]) is mismatch
    assert most_telling([first, full]) is full
    assert most_telling([first, UpstreamError("second")]) is first
    assert most_telling([FetchStopped(), first]) is first  # a job that was only told to stop says nothing
