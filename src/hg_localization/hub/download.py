"""One file from the Hub into its ``.incomplete`` file: resumed, bounded, retried, verified.

::

    <file>.incomplete already there?  hash its bytes (a killed run's bytes are not fetched again)
      └─ GET, with Range: bytes=<kept>- when bytes are kept
           206: append           200 (Range ignored): start over cleanly, from byte 0
           ├─ never a byte past the announced size: a longer answer fails before it is written
           └─ 429/5xx, a dropped or stalled connection: wait (Retry-After), go on from the bytes received
      the whole file checked at the end; a resumed file that fails is fetched once more from byte 0,
      then a mismatch deletes it (IntegrityError)
    a full disk deletes the partial file: the next run does not start with a full disk

:func:`check_free_space` refuses, before anything is fetched, a download the disk cannot hold.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import shutil
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO, NamedTuple

from hg_localization.errors import IntegrityError, LocalFileError, UpstreamError
from hg_localization.hub.http import HubHttp, RetriesExhausted, Streamed
from hg_localization.hub.listing import RemoteFile
from hg_localization.hub.retry import retryable
from hg_localization.integrity.hashing import Digest, StreamHasher

logger = logging.getLogger(__name__)

ProgressCallback = Callable[[int], None]
#: How many bytes are free in a folder (``shutil.disk_usage(folder).free`` by default).
FreeSpace = Callable[[Path], int]
#: A download of at least this many bytes is written and hashed while the next bytes are read.
PIPELINE_MIN_SIZE = 2 * 1024 * 1024
#: The most buffers given to one ``writev`` (Linux takes 1024).
_IOV_MAX = 512

Buffer = bytes | memoryview


class _Failure(NamedTuple):
    cause: Exception
    retry_after: float | None


class FileTransfer:
    """Streams one file into ``destination``, which may hold the first bytes from a previous run."""

    def __init__(
        self,
        http: HubHttp,
        url: str,
        remote: RemoteFile,
        destination: Path,
        on_progress: ProgressCallback | None = None,
    ) -> None:
        self._http = http
        self._url = url
        self._remote = remote
        self._destination = destination
        self._on_progress = on_progress
        self._hasher = self._new_hasher()
        #: Bytes kept from before this transfer (a previous run's partial file).
        self.resumed_from = 0

    def run(self) -> Digest:
        """Fetch and verify; the partial file stays for the next run unless it cannot be right."""
        try:
            with local_file_errors():
                self._destination.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(self._destination, os.O_RDWR | os.O_CREAT, 0o666)
            with os.fdopen(fd, "r+b", buffering=0) as sink:  # on disk as it arrives (a kill loses none)
                return self._fill(sink)
        except IntegrityError:
            self._delete()
            raise
        except LocalFileError as exc:
            if is_disk_full(exc):
                self._delete()
            raise

    def _fill(self, sink: BinaryIO) -> Digest:
        self._keep_prefix(sink)
        while True:
            if self._hasher.size < self._remote.size:
                self._transfer(sink)
            with local_file_errors():
                sink.flush()
                os.fsync(sink.fileno())
            digest = self._hasher.digest()
            try:
                verify_digest(self._remote, digest)
            except IntegrityError:
                if not self.resumed_from:
                    raise
                # The kept bytes may be of another version of the file (the branch moved).
                logger.info("%s did not verify after a resume; fetching it from byte 0", self._remote.path)
                self.resumed_from = 0
                self._start_over(sink)
                continue
            return digest

    def _keep_prefix(self, sink: BinaryIO) -> None:
        """Hash what a previous run left, to continue after it (dropped when it cannot be a prefix)."""
        with local_file_errors():
            kept = sink.seek(0, os.SEEK_END)
            if kept > self._remote.size:
                self._start_over(sink)
                return
            if kept:
                self._hasher.update_from(sink, kept)
                sink.seek(kept)
        self.resumed_from = kept
        if kept:
            logger.info("Resuming %s after the %d bytes already here", self._remote.path, kept)
            if self._on_progress is not None:
                self._on_progress(kept)

    def _start_over(self, sink: BinaryIO) -> None:
        with local_file_errors():
            sink.seek(0)
            sink.truncate()
        self._hasher = self._new_hasher()

    def _new_hasher(self) -> StreamHasher:
        # An LFS file is checked by its sha256; its git id would be computed for nothing.
        return StreamHasher(None if self._remote.is_lfs else self._remote.size)

    def _transfer(self, sink: BinaryIO) -> None:
        """GET the rest of the file, retrying within the client's policy."""
        backoff = self._http.backoff()
        while True:
            before = self._hasher.size
            failure = self._attempt(sink)
            if failure is None:
                return
            if not backoff.wait(failure.retry_after, progressed=self._hasher.size > before):
                raise RetriesExhausted(failure.cause, backoff.reason)
            logger.info(
                "Retrying %s at byte %d after: %s", self._remote.path, self._hasher.size, failure.cause
            )

    def _attempt(self, sink: BinaryIO) -> _Failure | None:
        """One GET from the bytes already here; returns the failure when it may be retried."""
        headers = {**self._http.headers(), "Accept-Encoding": "identity"}
        offset = self._hasher.size
        if offset:
            headers["Range"] = f"bytes={offset}-"
        try:
            with self._http.stream(self._url, headers) as response:
                self._check_answer(response, sink, offset)
                self._receive(response, sink)
        except Exception as exc:
            again, wait = retryable(exc)
            if again:
                return _Failure(exc, wait)
            raise
        if self._hasher.size < self._remote.size:  # the answer ended early, without an error
            import httpx2  # the error the session gives (an answer with no length that ended early)

            return _Failure(httpx2.RemoteProtocolError("the answer ended before the end of the file"), None)
        return None

    def _check_answer(self, response: Streamed, sink: BinaryIO, offset: int) -> None:
        status = response.status_code
        if offset and status == 200:
            logger.info("The Hub ignored the Range request for %s; starting it over", self._remote.path)
            self._start_over(sink)
        elif offset and status == 206:
            content_range = response.headers.get("Content-Range", "")
            if _range_start(content_range) != offset:
                raise UpstreamError(
                    f"The Hub answered a request for '{self._remote.path}' from byte {offset} with other "
                    f"bytes ({content_range or 'no Content-Range'}).",
                    hint="Retry later; if it persists, the upstream server is broken.",
                )
        elif status != 200:
            raise UpstreamError(f"The Hub answered {status} to the download of '{self._remote.path}'.")
        length = response.headers.get("Content-Length", "")
        if length.isdigit() and self._hasher.size + int(length) > self._remote.size:
            raise self._too_long(f"{self._hasher.size + int(length)} bytes")

    def _receive(self, response: Streamed, sink: BinaryIO) -> None:
        """The body to disk, hashed; a big file's written and hashed in a thread of its own.

        Leaving writes every byte received (a dropped connection loses none): the retry asks
        for the bytes after them.
        """
        room = self._remote.size - self._hasher.size
        threaded = room >= PIPELINE_MIN_SIZE
        # Imported here: its ctypes binding of the kernel's writeback call is only for a file body.
        from hg_localization.hub.write_behind import WriteBehind

        with WriteBehind(sink, self._hasher, write_chunks, self._on_progress, threaded=threaded) as writer:
            for chunk in response.iter_bytes():
                room -= len(chunk)
                if room < 0:  # checked before the chunk is handed over: never written
                    raise self._too_long(f"more than {self._remote.size} bytes")
                writer.add(chunk)

    def _too_long(self, actual: str) -> IntegrityError:
        """The Hub sends more than the size it announced: refused before a byte of it is written."""
        return IntegrityError(self._remote.path, f"{self._remote.size} bytes", actual, algorithm="size")

    def _delete(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._destination.unlink()


def write_chunks(
    sink: BinaryIO, chunks: Sequence[bytes], writev: Callable[[int, list[Buffer]], int] | None = None
) -> None:
    """All of ``chunks`` at ``sink``'s position, in as few system calls as the kernel allows.

    One ``writev`` for a block of chunks instead of a join: the join would copy every byte once
    more (at this machine's ~3 GB/s, a third of a second per GiB). ``writev`` is ``os.writev``
    unless a test gives another one.
    """
    pending: list[Buffer] = [chunk for chunk in chunks if chunk]
    with local_file_errors():  # a full disk is not the Hub's fault
        if writev is None and not hasattr(os, "writev"):  # Windows
            for chunk in pending:
                _write_one(sink, chunk)
            return
        write = writev or os.writev
        fd = sink.fileno()
        while pending:
            written = write(fd, pending[:_IOV_MAX])
            while pending and written >= len(pending[0]):  # a short write: drop what went out
                written -= len(pending.pop(0))
            if written:
                pending[0] = memoryview(pending[0])[written:]


def _write_one(sink: BinaryIO, data: Buffer) -> None:
    view = memoryview(data)
    while view:
        written = sink.write(view)
        view = view[written or 0 :]


def _range_start(content_range: str) -> int | None:
    """The first byte of ``bytes START-END/TOTAL``."""
    unit, _, spec = content_range.partition(" ")
    start = spec.partition("-")[0]
    return int(start) if unit.strip().lower() == "bytes" and start.isdigit() else None


def verify_digest(remote: RemoteFile, digest: Digest) -> None:
    """Check a streamed file against what the Hub promised: size, LFS sha256, git blob id."""
    if digest.size != remote.size:
        raise IntegrityError(remote.path, f"{remote.size} bytes", f"{digest.size} bytes", algorithm="size")
    if remote.lfs_sha256:
        if digest.sha256 != remote.lfs_sha256:
            raise IntegrityError(remote.path, remote.lfs_sha256, digest.sha256)
    elif remote.git_sha1 and digest.git_sha1 != remote.git_sha1:
        raise IntegrityError(remote.path, remote.git_sha1, digest.git_sha1, algorithm="git blob sha1")


@contextlib.contextmanager
def local_file_errors() -> Iterator[None]:
    try:
        yield
    except OSError as exc:
        raise LocalFileError.from_os_error(exc) from exc


def is_disk_full(exc: BaseException) -> bool:
    """True for a full disk or an exhausted quota (also once translated into a LocalFileError)."""
    return any(
        isinstance(candidate, OSError) and candidate.errno in (errno.ENOSPC, errno.EDQUOT)
        for candidate in (exc, exc.__cause__)
    )


def free_bytes(folder: Path) -> int:
    return shutil.disk_usage(folder).free


def check_free_space(
    folder: Path, needed: int, files: int, *, elsewhere: str, free_space: FreeSpace = free_bytes
) -> None:
    """Refuse a download that the disk holding ``folder`` clearly cannot hold (before fetching anything).

    ``elsewhere`` names the setting that puts the files on another disk, for the hint.
    """
    where = folder
    while not where.exists() and where.parent != where:
        where = where.parent
    try:
        free = free_space(where)
    except OSError as exc:
        raise LocalFileError.from_os_error(exc, action="read the free space of") from exc
    if needed <= free:
        return
    raise LocalFileError(
        f"Not enough free space in {where}: the {files} file(s) still to download need "
        f"{_size(needed)}, and {_size(free)} is free. Nothing was downloaded.",
        hint=f"Free at least {_size(needed - free)} there, or put the files on a bigger disk ({elsewhere}).",
    )


def _size(n_bytes: int) -> str:
    for unit, scale in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if n_bytes >= scale:
            return f"{n_bytes / scale:.1f} {unit} ({n_bytes:,} bytes)"
    return f"{n_bytes:,} bytes"
