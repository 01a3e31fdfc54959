"""hub/download.py's writing of a block of chunks: all of them, in order, whatever the kernel takes."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from hg_localization.errors import LocalFileError
from hg_localization.hub.download import Buffer, is_disk_full, write_chunks


def _short_writes(sizes: list[int], calls: list[int]) -> Callable[[int, list[Buffer]], int]:
    """A ``writev`` taking at most the next of ``sizes`` bytes per call (as a full pipe or a signal can)."""

    def writev(fd: int, buffers: list[Buffer]) -> int:
        data = b"".join(bytes(buffer) for buffer in buffers)[: sizes[len(calls) % len(sizes)]]
        calls.append(len(data))
        return os.write(fd, data)

    return writev


@pytest.mark.parametrize("sizes", [[1], [70_000, 3], [65_536], [10**9]], ids=["1", "mixed", "chunk", "all"])
def test_every_byte_of_every_chunk_is_written_once_in_order(tmp_path: Path, sizes: list[int]) -> None:
    chunks = [os.urandom(65_536), b"", os.urandom(100), os.urandom(200_000), os.urandom(7)]
    calls: list[int] = []
    with (tmp_path / "file").open("wb", buffering=0) as sink:
        sink.write(b"kept")  # the block goes after what is there (a resumed download)
        write_chunks(sink, chunks[:3], _short_writes(sizes, calls))
        write_chunks(sink, chunks[3:], _short_writes(sizes, calls))
    assert (tmp_path / "file").read_bytes() == b"kept" + b"".join(chunks)
    assert 0 not in calls  # an empty chunk is never asked for


def test_the_real_writev_writes_the_chunks(tmp_path: Path) -> None:
    chunks = [os.urandom(size) for size in (1, 65_536, 1_000_000)]
    with (tmp_path / "file").open("wb", buffering=0) as sink:
        write_chunks(sink, chunks)
    assert (tmp_path / "file").read_bytes() == b"".join(chunks)


def test_a_full_disk_is_a_local_file_error_that_tells_it(tmp_path: Path) -> None:
    def full(fd: int, buffers: list[Buffer]) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    with (tmp_path / "file").open("wb", buffering=0) as sink, pytest.raises(LocalFileError) as caught:
        write_chunks(sink, [b"x" * 10], full)
    assert is_disk_full(caught.value)
