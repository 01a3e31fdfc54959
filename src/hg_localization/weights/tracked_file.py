"""A file handed to huggingface_hub as a file object: opened lazily, progress reported once."""

from __future__ import annotations

import io
from pathlib import Path

from hg_localization.progress import ProgressListener


class TrackedFile(io.BufferedIOBase):
    """A read-only file that is open only while being read, and reports how far reading got.

    Many files can be part of one commit; each holds a descriptor only between its first read
    and its end. Progress counts the furthest byte read, so a retried or repeated read (the
    client reads small files twice) is not counted twice.
    """

    def __init__(self, disk_path: Path, label: str, size: int, progress: ProgressListener) -> None:
        super().__init__()
        self._disk_path = disk_path
        self._label = label
        self._size = size
        self._progress = progress
        self._handle: io.BufferedReader | None = None
        self._position = 0
        self._reported = 0
        self._state = "new"

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        if self._handle is None:
            self._handle = self._disk_path.open("rb")
            self._handle.seek(self._position)
        data = self._handle.read(-1 if size is None or size < 0 else size)
        self._position += len(data)
        self._report()
        if not data or self._position >= self._size:
            self._release()
        return data

    def read1(self, size: int = -1) -> bytes:
        return self.read(size)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            position = offset
        elif whence == io.SEEK_CUR:
            position = self._position + offset
        elif whence == io.SEEK_END:
            position = self._disk_path.stat().st_size + offset
        else:
            raise ValueError(f"invalid whence: {whence}")
        if position < 0:
            raise ValueError("negative seek position")
        self._position = position
        if self._handle is not None:
            self._handle.seek(position)
        return position

    def tell(self) -> int:
        return self._position

    def close(self) -> None:
        self._release()
        if self._state == "started":
            self._progress.file_finished(self._label)
            self._state = "finished"
        super().close()

    def _release(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def _report(self) -> None:
        if self._state == "new":
            self._progress.upload_started(self._label, self._size)
            self._state = "started"
        if self._position > self._reported:
            self._progress.file_advanced(self._label, self._position - self._reported)
            self._reported = self._position
        if self._state == "started" and self._reported >= self._size:
            self._progress.file_finished(self._label)
            self._state = "finished"
