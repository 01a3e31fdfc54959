"""The one parallel fetch engine: N file jobs on a thread pool, stopped together.

Used by ``localize`` (:mod:`hg_localization.usecases.revision_fetch`) and by ``download-weights``
(:mod:`hg_localization.weights.fetch`). It lives in ``hub/`` because what it runs are Hub
downloads (:meth:`HubClient.download` calls the jobs' progress callbacks, where they stop) and
because both use cases sit above ``hub/``; it knows nothing of stores or weights folders.

How a run stops::

    a job fails, or Ctrl-C in the calling thread
      ├─ queued jobs never start          (cancelled, and each job checks the stop before it starts)
      ├─ running jobs stop at their next chunk: their progress callback calls
      │  :meth:`FetchPool.check_stop`, which raises :class:`FetchStopped`
      ├─ they are waited for, up to ``grace_seconds`` (one blocked on a silent socket must not
      │  hold Ctrl-C hostage; it stops at its next chunk or at its read timeout)
      └─ raised: Ctrl-C as it came, else the most telling failure: an integrity mismatch, then
         a full disk, then the first

:class:`FetchStopped` is a ``BaseException`` (like ``KeyboardInterrupt``), so that no ``except
Exception`` on its way out of a job (a retry loop, an error translation) takes it for a failed
download.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from typing import TypeVar

from hg_localization.errors import IntegrityError
from hg_localization.hub.download import is_disk_full

#: After a failure or Ctrl-C, how long the jobs already running get to stop (at their next chunk).
STOP_GRACE_SECONDS = 2.0

_Item = TypeVar("_Item")
_Result = TypeVar("_Result")


class FetchStopped(BaseException):
    """Raised inside a job once the run is stopping (another job failed, or Ctrl-C)."""


class FetchPool:
    """Runs one batch of file jobs on ``workers`` threads; the first failure or Ctrl-C stops them all.

    A job receives one item and returns its result; it calls :meth:`check_stop` between chunks
    (from its download's progress callback). One pool runs one batch.
    """

    def __init__(
        self,
        workers: int,
        *,
        thread_name_prefix: str = "hgloc-fetch",
        grace_seconds: float = STOP_GRACE_SECONDS,
    ) -> None:
        self._workers = max(1, workers)
        self._thread_name_prefix = thread_name_prefix
        self._grace_seconds = grace_seconds
        self._stop = threading.Event()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def check_stop(self) -> None:
        """Raise :class:`FetchStopped` in a job once the run is stopping; else return at once."""
        if self._stop.is_set():
            raise FetchStopped

    def run(self, items: Sequence[_Item], job: Callable[[_Item], _Result]) -> list[_Result]:
        """``job(item)`` for every item, results in the order of ``items``; see the module docstring."""
        if not items:
            return []

        def started(item: _Item) -> _Result:
            self.check_stop()  # queued before the stop, picked up after it: never started
            try:
                return job(item)
            except BaseException:
                # Stop at once, from this thread: the worker it frees must not start a queued job.
                self._stop.set()
                raise

        workers = min(self._workers, len(items))
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=self._thread_name_prefix)
        futures: list[Future[_Result]] = []
        try:
            futures = [pool.submit(started, item) for item in items]
            finished, _ = wait(futures, return_when=FIRST_EXCEPTION)
        except BaseException:  # Ctrl-C in this thread
            self._stop_all(pool, futures)
            raise
        first = [e for e in (f.exception() for f in futures if f in finished) if e is not None]
        if first:
            self._stop_all(pool, futures)
            later = [f.exception() for f in futures if f.done() and not f.cancelled() and f not in finished]
            raise most_telling([*first, *(e for e in later if e is not None)])
        pool.shutdown(wait=True)
        return [f.result() for f in futures]

    def _stop_all(self, pool: ThreadPoolExecutor, futures: list[Future[_Result]]) -> None:
        """Queued jobs never start; running ones stop at their next chunk, waited for (bounded)."""
        self._stop.set()
        pool.shutdown(wait=False, cancel_futures=True)
        wait([f for f in futures if not f.cancelled()], timeout=self._grace_seconds)


def most_telling(failures: Sequence[BaseException]) -> BaseException:
    """The failure to report when several jobs failed: a mismatch, then a full disk, then the first.

    A job that only stopped because another one failed (:class:`FetchStopped`) says nothing.
    """
    real = [e for e in failures if not isinstance(e, FetchStopped)] or list(failures)
    for telling in (lambda e: isinstance(e, IntegrityError), is_disk_full):
        found = [e for e in real if telling(e)]
        if found:
            return found[0]
    return real[0]
