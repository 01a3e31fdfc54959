"""A file pulled through on its first download: streamed to the client while it arrives.

::

    HEAD                 the Hub's headers (size, ETag, X-Repo-Commit); nothing is fetched
    GET with Range       waits for the file to be in the store, then answers from it (206)
    GET                  starts the pull (or joins the one running: :class:`InFlight`), opens the
                         growing <name>.incomplete file and sends its bytes as they land, hashing
                         them; the last chunk is sent only once what was sent matches the file's
                         checksum, so a mismatch (or a failed fetch) ends the answer short: the
                         client never holds a complete wrong body, and the store keeps nothing

The check is of the bytes actually sent, whatever wrote them (this process, or another one
that holds the store's lock and fetches the same file), so a race can only end an answer
early, never make a wrong one look right.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Hashable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from hg_localization.errors import EntryNotFoundError, HGLocalizationError, IntegrityError
from hg_localization.hub.client import RemoteFile, verify_digest
from hg_localization.integrity.hashing import StreamHasher
from hg_localization.server.responses import INTERNAL_ERROR, error_response, hub_error
from hg_localization.server.served import ServedFile

logger = logging.getLogger(__name__)

CHUNK = 1024 * 1024
#: How often a waiting answer looks at the file being fetched (seconds). An answer that caught
#: up with the fetch waits this long for more: short, so that the client is not left idle.
POLL = 0.005


class InFlight:
    """Work shared by key: one job per key at a time in this process; a second caller joins it."""

    def __init__(self, workers: int) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="hgloc-pull")
        self._running: dict[Hashable, Future[Any]] = {}
        self._lock = threading.Lock()

    def start(self, key: Hashable, job: Callable[[], Any]) -> Future[Any]:
        """The running job for ``key``, or ``job`` started in the background."""
        with self._lock:
            future = self._running.get(key)
            if future is not None:
                return future
            future = self._pool.submit(job)
            self._running[key] = future
        future.add_done_callback(lambda done: self._forget(key, done))
        return future

    def share(self, key: Hashable, job: Callable[[], Any]) -> Any:
        """Run ``job`` in this thread, or wait for the caller already running it; its result."""
        with self._lock:
            future = self._running.get(key)
            mine = future is None
            if future is None:
                future = Future()
                self._running[key] = future
        if not mine:
            return future.result()
        try:
            result = job()
        except BaseException as exc:
            future.set_exception(exc)
            raise
        else:
            future.set_result(result)
            return result
        finally:
            self._forget(key, future)

    def _forget(self, key: Hashable, done: Future[Any]) -> None:
        with self._lock:
            if self._running.get(key) is done:
                del self._running[key]

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


@dataclass(frozen=True)
class PendingFile:
    """A file of a served revision that is not in the store yet."""

    served: ServedFile
    #: Where the fetch writes it while it arrives.
    partial: Path
    #: Starts the fetch (or joins the running one).
    start: Callable[[], Future[Any]]
    #: The store's answer once the fetch is done (None: the file is not there).
    settled: Callable[[], Response | None]


class PulledFileResponse(Response):
    """The answer for a :class:`PendingFile`, with the Hub's ``headers``."""

    def __init__(self, pending: PendingFile, headers: dict[str, str]) -> None:
        super().__init__(headers={**headers, "Content-Length": str(pending.served.size)})
        self.pending = pending

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if str(scope.get("method", "GET")).upper() == "HEAD":
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            await send({"type": "http.response.body", "body": b""})
            return
        future = self.pending.start()
        ranged = any(name.lower() == b"range" for name, _ in scope.get("headers", []))
        descriptor = None
        if not ranged and self.pending.served.size:
            descriptor = await self._open_when_arriving(future)
        if descriptor is None:  # a Range request, an empty file, or done before its bytes were seen
            await self._settle(future, scope, receive, send)
            return
        try:
            await self._stream(descriptor, future, send)
        finally:
            os.close(descriptor)

    async def _open_when_arriving(self, future: Future[Any]) -> int | None:
        while not future.done():
            try:
                return os.open(self.pending.partial, os.O_RDONLY)
            except (FileNotFoundError, NotADirectoryError):
                await anyio.sleep(POLL)
        return None

    async def _settle(self, future: Future[Any], scope: Scope, receive: Receive, send: Send) -> None:
        """Wait for the fetch, then answer from the store (Range included), or with its error."""
        await _finished(future)
        failure = future.exception()
        answer: Response | None
        if isinstance(failure, HGLocalizationError):
            answer = error_response(failure)
        elif failure is not None:
            logger.error("Pulling '%s' failed", self.pending.served.path, exc_info=failure)
            answer = hub_error(500, INTERNAL_ERROR)
        else:
            answer = await anyio.to_thread.run_sync(self.pending.settled)
        if answer is None:
            answer = error_response(EntryNotFoundError("this repository", self.pending.served.path))
        await answer(scope, receive, send)

    async def _stream(self, descriptor: int, future: Future[Any], send: Send) -> None:
        served = self.pending.served
        hasher = StreamHasher(None if served.lfs else served.size)
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        while True:
            want = min(CHUNK, served.size - hasher.size)
            chunk = await anyio.to_thread.run_sync(_read_hashed, descriptor, want, hasher)
            if not chunk:
                if await self._given_up(descriptor, future, hasher.size):
                    return  # the answer ends short: the client sees an incomplete body
                continue
            if hasher.size >= served.size:
                break
            if not await _sent(send, chunk, more=True):
                return
        if not self._verified(hasher):
            await _finished(future)  # the fetch found it too, and kept nothing: then the answer ends
            return
        await _sent(send, chunk, more=False)

    async def _given_up(self, descriptor: int, future: Future[Any], received: int) -> bool:
        """Whether no more bytes can come: the fetch failed, or the file watched was not the one kept."""
        if not future.done():
            await anyio.sleep(POLL)
            return False
        failure = future.exception()
        if failure is not None:
            reason = failure.message if isinstance(failure, HGLocalizationError) else repr(failure)
            logger.warning(
                "Pulling '%s' failed (%s); its answer was ended.", self.pending.served.path, reason
            )
            return True
        if os.fstat(descriptor).st_size > received:
            return False
        logger.warning("'%s' was fetched into another file: this answer was ended.", self.pending.served.path)
        return True

    def _verified(self, hasher: StreamHasher) -> bool:
        served = self.pending.served
        lfs_sha256 = served.sha256 if served.lfs else None
        expected = RemoteFile(served.path, served.size, served.git_sha1, lfs_sha256)
        try:
            verify_digest(expected, hasher.digest())
        except IntegrityError as exc:
            logger.warning("%s The answer was ended before its last bytes.", exc.message)
            return False
        return True


def _read_hashed(descriptor: int, want: int, hasher: StreamHasher) -> bytes:
    """The next bytes of the file, hashed (in a worker thread: the event loop goes on sending)."""
    chunk = os.pread(descriptor, want, hasher.size)
    hasher.update(chunk)
    return chunk


async def _finished(future: Future[Any]) -> None:
    while not future.done():
        await anyio.sleep(POLL)


async def _sent(send: Send, chunk: bytes, *, more: bool) -> bool:
    try:
        await send({"type": "http.response.body", "body": chunk, "more_body": more})
    except OSError:  # the client went away; the fetch goes on for the next one
        return False
    return True
