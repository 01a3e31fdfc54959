"""sha256 and git blob ids, computed while bytes stream past (never a second read)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

CHUNK_SIZE = 1024 * 1024


@dataclass(frozen=True)
class Digest:
    size: int
    sha256: str
    git_sha1: str


class StreamHasher:
    """Feeds every chunk to sha256 and to git's blob sha1 (``sha1(b"blob <size>\\0" + data)``).

    The git id needs the size up front; without it (or after a short read) ``git_sha1`` is "".
    """

    def __init__(self, expected_size: int | None = None) -> None:
        self._sha256 = hashlib.sha256()
        self._expected_size = expected_size
        self._git = hashlib.sha1(f"blob {expected_size}\0".encode()) if expected_size is not None else None
        self.size = 0

    def update(self, chunk: bytes | memoryview) -> None:
        self._sha256.update(chunk)
        if self._git is not None:
            self._git.update(chunk)
        self.size += len(chunk)

    def update_from(self, handle: BinaryIO, limit: int) -> None:
        """Hash the first ``limit`` bytes of an open file (a kept prefix a download resumes after)."""
        handle.seek(0)
        remaining = limit
        while remaining > 0:
            chunk = handle.read(min(CHUNK_SIZE, remaining))
            if not chunk:
                raise EOFError(f"The file ended {remaining} bytes before the {limit} bytes to hash.")
            self.update(chunk)
            remaining -= len(chunk)

    def digest(self) -> Digest:
        complete = self._git is not None and self.size == self._expected_size
        git_sha1 = self._git.hexdigest() if complete and self._git is not None else ""
        return Digest(size=self.size, sha256=self._sha256.hexdigest(), git_sha1=git_sha1)


def hash_chunks(chunks: Iterable[bytes], expected_size: int | None = None) -> Digest:
    hasher = StreamHasher(expected_size)
    for chunk in chunks:
        hasher.update(chunk)
    return hasher.digest()


def hash_file(path: Path) -> Digest:
    """sha256 and git blob id of a file, read once."""
    size = path.stat().st_size
    hasher = StreamHasher(size)
    with path.open("rb") as handle:
        for chunk in read_chunks(handle):
            hasher.update(chunk)
    return hasher.digest()


def read_chunks(handle: BinaryIO, chunk_size: int = CHUNK_SIZE) -> Iterator[memoryview]:
    """The file's bytes in chunks read into one reused buffer: no new ``bytes`` object (a copy) per chunk.

    Each chunk is valid only until the next one is read: hash it, do not keep it.
    """
    buffer = bytearray(chunk_size)
    view = memoryview(buffer)
    while read := handle.readinto(view):  # type: ignore[attr-defined]
        yield view[:read]


def sha256_file(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
