"""What moves between the store and the bucket: transfer items, and the reader that verifies uploads.

An upload reads each local file once: :class:`VerifyingReader` computes its sha256 from the very
bytes botocore sends, and an upload whose bytes are not the recorded ones fails before the object is
complete.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import threading
from collections.abc import Callable
from concurrent.futures import Future
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from hg_localization.errors import HGLocalizationError, IntegrityError, LocalFileError, StorageError

T = TypeVar("T")


class UnreadableSourceError(LocalFileError):
    """A local file could not be read while it was being uploaded; its object was not written."""

    def __init__(self, item: UploadItem, error: OSError) -> None:
        super().__init__(
            f"Could not read '{item.source}' ({item.label}) to upload it: {error.strerror or error}; "
            "it was not uploaded."
        )
        self.item = item


@dataclass(frozen=True)
class RemoteObject:
    key: str
    size: int
    sha256: str | None = None
    #: As a LIST or HEAD gives it (quotes kept): the MD5 of the bytes for a single-part upload.
    etag: str | None = None


@dataclass(frozen=True)
class UploadItem:
    source: Path
    key: str
    size: int
    sha256: str
    label: str


@dataclass(frozen=True)
class CopyItem:
    source_key: str
    key: str
    size: int
    label: str


@dataclass(frozen=True)
class DownloadItem:
    key: str
    target: Path
    size: int
    label: str


class VerifyingReader(io.BufferedIOBase):
    """The file of an :class:`UploadItem`, as the transfer manager reads it, hashed on the way.

    The bytes are hashed in order as they are first read (a retry that seeks back and reads
    them again is not hashed twice). Reading the last byte checks the sha256: when it differs,
    that read raises instead of returning the data, so the object is never completed (a PUT is
    cut short; a multipart upload is aborted). Every read after a failure raises again, so a
    retry cannot complete it either; :attr:`failure` keeps the error for the caller, whatever
    boto3 wraps it in.

    The file is opened at the first read and stays open until :meth:`release` (called when its
    PUT is over) or :meth:`close`: botocore reads a small body up to three times (checksum,
    signature, send), and opening the file once instead of each time is measurably cheaper for a
    thousand small files. So at most as many files are open as PUTs run at once, however many
    are queued.
    """

    def __init__(self, item: UploadItem) -> None:
        super().__init__()
        self.item = item
        self.failure: HGLocalizationError | None = None
        self.verified = False
        self._hasher = hashlib.sha256()
        self._hashed = 0
        self._position = 0
        self._handle: io.BufferedReader | None = None
        self._lock = threading.Lock()

    def check_size(self) -> None:
        """Before anything is sent: the file is there and has the recorded size."""
        try:
            size = self.item.source.stat().st_size
        except OSError as exc:
            raise UnreadableSourceError(self.item, exc) from exc
        if size != self.item.size:
            raise IntegrityError(
                str(self.item.source), f"{self.item.size} bytes", f"{size} bytes", algorithm="size"
            )

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self.item.size}[whence]
        self._position = max(0, base + offset)
        return self._position

    def read(self, size: int | None = -1) -> bytes:
        with self._lock:
            if self.failure is not None:
                raise self.failure
            remaining = self.item.size - self._position
            wanted = remaining if size is None or size < 0 else min(size, remaining)
            if wanted <= 0:
                return b""
            data = self._read_at(self._position, wanted)
            if len(data) < wanted:  # the file shrank since check_size
                raise self._failed(
                    IntegrityError(
                        str(self.item.source), f"{self.item.size} bytes", "fewer bytes", algorithm="size"
                    )
                )
            self._hash(self._position, data)
            self._position += len(data)
            return data

    def read1(self, size: int = -1) -> bytes:
        return self.read(size)

    def release(self) -> None:
        """Let go of the file (a later read opens it again)."""
        with self._lock:
            self._release()

    def close(self) -> None:
        self.release()
        super().close()

    def hash_source(self) -> str:
        """The sha256 of the whole file, read again (only when the upload did not read it in order)."""
        try:
            with self.item.source.open("rb") as handle:
                return hashlib.file_digest(handle, "sha256").hexdigest()
        except OSError as exc:
            raise UnreadableSourceError(self.item, exc) from exc

    def _read_at(self, position: int, size: int) -> bytes:
        try:
            if self._handle is None:
                self._handle = self.item.source.open("rb")
            self._handle.seek(position)
            return self._handle.read(size)
        except OSError as exc:
            raise self._failed(UnreadableSourceError(self.item, exc)) from exc

    def _hash(self, position: int, data: bytes) -> None:
        """Extend the running sha256 with the bytes not hashed yet; check it at the last byte."""
        if position > self._hashed:
            return  # a jump ahead: this upload cannot be hashed in order (hash_source checks it)
        fresh = data[self._hashed - position :]
        if not fresh:
            return
        self._hasher.update(fresh)
        self._hashed += len(fresh)
        if self._hashed < self.item.size:
            return
        actual = self._hasher.hexdigest()
        if actual != self.item.sha256:
            raise self._failed(IntegrityError(str(self.item.source), self.item.sha256, actual))
        self.verified = True

    def _failed(self, error: HGLocalizationError) -> HGLocalizationError:
        """Remember ``error`` (every later read raises it too) and let go of the file."""
        self.failure = error
        self._release()
        return error

    def _release(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def finish_upload(
    reader: VerifyingReader,
    future: Future[T],
    errors: Callable[[str], AbstractContextManager[None]],
    delete: Callable[[str], None],
) -> T:
    """Wait for one upload of ``reader``'s file and give its result; raise what went wrong, ours first.

    ``errors`` translates the bucket's errors (:meth:`Bucket.errors`), ``delete`` removes an
    object that is not the file (:meth:`Bucket.delete`).
    """
    item = reader.item
    try:
        with errors(f"upload '{item.label}' to"):
            result = future.result()
    except Exception:
        # Only when our reader failed first is its error the cause; anything else (a bug
        # included) goes on as it is.
        if reader.failure is None:
            raise
        # Ours, whatever botocore made of it on the way. A PUT cut short by it is refused by S3,
        # but some servers keep what arrived: whatever is under the key now is not the file.
        with contextlib.suppress(StorageError):
            delete(item.key)
        raise reader.failure from None
    if reader.failure is not None:
        raise reader.failure
    if not reader.verified:  # the bytes were not all read in order: check the file itself
        sha256 = reader.hash_source()
        if sha256 != item.sha256:
            delete(item.key)
            raise IntegrityError(str(item.source), item.sha256, sha256)
    return result
