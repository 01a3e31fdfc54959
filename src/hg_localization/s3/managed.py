"""boto3's transfer manager, for whole files: made, and told what to report, only when files move.

Kept apart from :mod:`.bucket` so that a sync with nothing to send imports neither boto3 nor
s3transfer (a fifth of a second): :class:`~hg_localization.s3.bucket.Bucket` imports this module
in the methods that transfer files.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from boto3.s3.transfer import create_transfer_manager
from s3transfer.subscribers import BaseSubscriber

from hg_localization.errors import IntegrityError, StorageError
from hg_localization.progress import ProgressListener
from hg_localization.s3.client import TransferSettings
from hg_localization.s3.transfers import VerifyingReader

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from s3transfer.manager import TransferManager


def transfer_manager(client: S3Client, settings: TransferSettings) -> TransferManager:
    """A transfer manager on ``client`` (the classic one: the same code path, awscrt or not)."""
    return create_transfer_manager(client, settings.boto3_config())


def finish_upload(
    reader: VerifyingReader,
    future: Any,
    errors: Callable[[str], AbstractContextManager[None]],
    delete: Callable[[str], None],
) -> None:
    """Wait for one upload of ``reader``'s file; raise what went wrong, ours first.

    ``errors`` translates the bucket's errors (:meth:`Bucket.errors`), ``delete`` removes an
    object that is not the file (:meth:`Bucket.delete`).
    """
    item = reader.item
    try:
        with errors(f"upload '{item.label}' to"):
            future.result()
    except Exception:
        # Only when our reader failed first is its error the cause; anything else (a bug
        # included) goes on as it is.
        if reader.failure is None:
            raise
        # Ours, whatever boto3 made of it on the way. A PUT cut short by it is refused by S3,
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


class TransferProgress(BaseSubscriber):
    """Forwards the transfer manager's byte counts to a ProgressListener."""

    def __init__(self, listener: ProgressListener, label: str, size: int, *, upload: bool = False) -> None:
        self._listener = listener
        self._upload = upload
        self._label = label
        self._size = size
        self._started = False

    def on_progress(self, future: Any, bytes_transferred: int, **kwargs: Any) -> None:
        if not self._started:
            self._started = True
            if self._upload:
                self._listener.upload_started(self._label, self._size)
            else:
                self._listener.file_started(self._label, self._size)
        self._listener.file_advanced(self._label, bytes_transferred)

    def on_done(self, future: Any, **kwargs: Any) -> None:
        if self._started:
            self._listener.file_finished(self._label)


class ReleaseWhenDone(BaseSubscriber):
    """Closes a :class:`VerifyingReader`'s file once its transfer is over, done or failed."""

    def __init__(self, reader: VerifyingReader) -> None:
        self._reader = reader

    def on_done(self, future: Any, **kwargs: Any) -> None:
        self._reader.release()
