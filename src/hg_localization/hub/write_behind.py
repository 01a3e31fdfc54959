"""Write and hash a download's bytes in a thread of their own, while the next ones are read.

Reading an HTTP answer costs the reader's thread a recv per block (through httpx/h11, Python
time for every 64 KiB as well: see :mod:`.plain_stream`); writing and sha256 cost more, but
outside the GIL (``os.write`` and hashlib for more than 2 KiB let go of it). Handing the bytes
to a second thread runs both on two cores::

    reader (the caller)   chunk, chunk, … ─▶ queued (≤ QUEUE_LIMIT bytes)
    writer thread         a block of what came (≥ BLOCK_SIZE, or after MAX_DELAY s)
                          ─▶ one writev of its chunks, then sha256 of each chunk

Every byte is still written and hashed, in order; the caller checks sizes before it hands a
chunk over. A block is written as soon as it is full, else at most MAX_DELAY after it began:
while the connection stalls, what was received is on disk (a killed run keeps it). The chunks of
a block are not joined: a join is one more copy of every byte. Every ``WRITEBACK_EVERY`` bytes
the kernel is asked to start writing those bytes to the disk (``sync_file_range``, Linux): the
``fsync`` that ends a download then waits for the last bytes only, instead of the whole file (a
disk at 400 MB/s takes 2.7 s for 1 GiB).

Small files are written in the caller's thread (``threaded=False``): a thread per file would
cost more than it saves.
"""

from __future__ import annotations

import ctypes
import functools
import sys
import threading
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import BinaryIO

from hg_localization.integrity.hashing import StreamHasher

#: Bytes collected before the writer is woken up (one write, one hash update for all of them).
BLOCK_SIZE = 1024 * 1024
#: The longest a received chunk waits for others before it is written (seconds).
MAX_DELAY = 0.05
#: Bytes that may wait for the writer before the reader waits for it (with the ones being
#: written, a download holds at most twice this in memory).
QUEUE_LIMIT = 4 * 1024 * 1024
#: Bytes written between two requests to start writing them to the disk.
WRITEBACK_EVERY = 16 * 1024 * 1024

#: Writes all of a block's chunks, in order (retrying short writes), translating OSError at the
#: caller's boundary. A block is handed over as the chunks that came: joining them would copy it.
WriteAll = Callable[[BinaryIO, Sequence[bytes]], None]
ProgressCallback = Callable[[int], None]


class _Handoff:
    """Chunks from the reader to the writer thread; the writer is woken per block, not per chunk.

    (A ``queue.Queue`` wakes the writer for every 64 KiB chunk: thousands of GIL hand-overs per
    GiB that slow the reader, whose Python work is what limits a download.)
    """

    def __init__(self) -> None:
        lock = threading.Lock()
        self._filled = threading.Condition(lock)  # a block is ready, or the reader is done
        self._drained = threading.Condition(lock)  # the writer took what was queued
        self._chunks: list[bytes] = []
        self._size = 0
        self._ended = False

    def put(self, chunk: bytes) -> None:
        """Queue ``chunk``; waits while QUEUE_LIMIT bytes are queued already."""
        with self._filled:
            before = self._size
            self._chunks.append(chunk)
            self._size += len(chunk)
            if before < BLOCK_SIZE <= self._size:
                self._filled.notify()
            while self._size >= QUEUE_LIMIT:
                self._drained.wait()

    def end(self) -> None:
        with self._filled:
            self._ended = True
            self._filled.notify()

    def take(self) -> tuple[list[bytes], bool]:
        """What is queued, once a block is full or MAX_DELAY passed; and whether the reader is done."""
        with self._filled:
            if self._size < BLOCK_SIZE and not self._ended:
                self._filled.wait(MAX_DELAY)
            chunks, self._chunks, self._size = self._chunks, [], 0
            self._drained.notify()
            return chunks, self._ended


class WriteBehind:
    """Writes the chunks given to :meth:`add` to ``sink`` and feeds them to ``hasher``, in order.

    Used as a context manager: leaving it waits for the writer, so afterwards ``hasher.size``
    counts exactly the bytes on disk (also after a dropped connection: the bytes received before
    it are kept). A failed write is raised, by :meth:`add` (the reading stops) or on leaving;
    the writer keeps taking chunks meanwhile, so the reader never blocks on a dead writer.
    """

    def __init__(
        self,
        sink: BinaryIO,
        hasher: StreamHasher,
        write_all: WriteAll,
        on_progress: ProgressCallback | None = None,
        *,
        threaded: bool,
    ) -> None:
        self._sink = sink
        self._hasher = hasher
        self._write_all = write_all
        self._on_progress = on_progress
        self._written = 0  # bytes written by this WriteBehind
        self._written_back = 0  # of which the writing to the disk was started
        self._failure: BaseException | None = None
        self._handoff: _Handoff | None = None
        self._thread: threading.Thread | None = None
        if threaded:
            self._handoff = _Handoff()
            self._thread = threading.Thread(target=self._drain, name="hgloc-write", daemon=True)

    def __enter__(self) -> WriteBehind:
        if self._thread is not None:
            self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._handoff is not None and self._thread is not None:
            self._handoff.end()
            self._thread.join()
        if self._failure is not None and self._failure is not exc:  # else it is on its way up already
            raise self._failure

    def add(self, chunk: bytes) -> None:
        """Hand ``chunk`` (already checked by the caller) over to be written and hashed."""
        if self._failure is not None:
            raise self._failure
        if self._handoff is None:
            self._write([chunk])
        elif chunk:
            self._handoff.put(chunk)

    def _drain(self) -> None:
        """The writer thread: blocks of what arrived, until the reader is done."""
        assert self._handoff is not None
        done = False
        while not done:
            block, done = self._handoff.take()
            if self._failure is not None or not block:
                continue  # keep taking chunks: the reader must never wait on a dead writer
            try:
                self._write(block)
            except BaseException as exc:  # raised in the reader's thread (add, or on leaving)
                self._failure = exc

    def _write(self, block: list[bytes]) -> None:
        self._write_all(self._sink, block)
        size = 0
        for chunk in block:
            self._hasher.update(chunk)
            size += len(chunk)
        if self._on_progress is not None:
            self._on_progress(size)
        self._written += size
        if self._written - self._written_back >= WRITEBACK_EVERY:
            end = self._sink.tell()
            start_writeback(self._sink.fileno(), end - (self._written - self._written_back), end)
            self._written_back = self._written


def start_writeback(fd: int, start: int, end: int) -> None:
    """Ask the kernel to start writing bytes ``start`` to ``end`` of ``fd`` to the disk, without waiting.

    Only the bytes just written: asking for the whole file every time costs a walk over all of
    its pages (a GiB in 16 MiB steps measured up to 1.4 s of system time more, the writes slowed).
    Only a hint (the caller still fsyncs): on systems without ``sync_file_range`` it does nothing.
    """
    function = _sync_file_range()
    if function is not None and end > start:
        function(fd, start, end - start, _SYNC_FILE_RANGE_WRITE)


_SYNC_FILE_RANGE_WRITE = 2


@functools.cache
def _sync_file_range() -> Callable[[int, int, int, int], int] | None:
    """libc's ``sync_file_range`` (Linux; the standard library's ``os`` does not have it), or None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        function = ctypes.CDLL(None, use_errno=True).sync_file_range
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    function.restype = ctypes.c_int
    return function
