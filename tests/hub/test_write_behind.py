"""WriteBehind: a download's bytes written and hashed in a thread of their own, in order, all of them."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

import pytest

from hg_localization.hub.write_behind import QUEUE_LIMIT, WriteBehind
from hg_localization.integrity.hashing import StreamHasher

CHUNK = 64 * 1024


def _chunks(total: int) -> list[bytes]:
    return [os.urandom(min(CHUNK, total - start)) for start in range(0, total, CHUNK)]


def _write_all(sink: BinaryIO, chunks: Sequence[bytes]) -> None:
    for chunk in chunks:
        sink.write(chunk)


@pytest.mark.parametrize("threaded", [True, False], ids=["threaded", "inline"])
def test_every_chunk_is_written_and_hashed_in_order(tmp_path: Path, threaded: bool) -> None:
    chunks = _chunks(3 * QUEUE_LIMIT + 12345)  # more than may wait: the reader waits for the writer
    hasher = StreamHasher()
    progress: list[int] = []
    with (tmp_path / "file").open("wb", buffering=0) as sink:
        with WriteBehind(sink, hasher, _write_all, progress.append, threaded=threaded) as writer:
            for chunk in chunks:
                writer.add(chunk)
        assert hasher.size == sum(map(len, chunks))  # on leaving: every byte written and counted
    expected = b"".join(chunks)
    assert (tmp_path / "file").read_bytes() == expected
    assert hasher.digest().sha256 == hashlib.sha256(expected).hexdigest()
    assert sum(progress) == len(expected)


def test_a_failed_write_reaches_the_reader_which_never_waits_on_a_dead_writer(tmp_path: Path) -> None:
    def disk_full(sink: BinaryIO, chunks: Sequence[bytes]) -> None:
        raise OSError(28, "No space left on device")

    hasher = StreamHasher()
    with (tmp_path / "file").open("wb", buffering=0) as sink, pytest.raises(OSError, match="No space left"):
        with WriteBehind(sink, hasher, disk_full, threaded=True) as writer:
            for chunk in _chunks(4 * QUEUE_LIMIT):  # the reader goes on until it is told
                writer.add(chunk)
    assert hasher.size == 0


def test_what_was_received_is_on_disk_while_the_reader_waits_for_more(tmp_path: Path) -> None:
    """A stalled connection: the bytes before the stall reach the disk (a killed run keeps them)."""
    path = tmp_path / "file"
    with path.open("wb", buffering=0) as sink:  # as the download opens it
        with WriteBehind(sink, StreamHasher(), _write_all, threaded=True) as writer:
            writer.add(b"x" * 1000)  # far less than a block
            deadline = time.monotonic() + 30  # a bound on the wait, not a timing
            while path.stat().st_size < 1000 and time.monotonic() < deadline:
                time.sleep(0.01)
            assert path.stat().st_size == 1000
            writer.add(b"y" * 10)
    assert path.read_bytes() == b"x" * 1000 + b"y" * 10
