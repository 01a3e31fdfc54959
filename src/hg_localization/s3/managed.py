"""boto3's transfer manager, for server-side copies and downloads: made, and told what to report,
only when objects move (uploads are botocore's own PUTs and :mod:`.multipart`).

Kept apart from :mod:`.bucket` so that a sync with nothing to send imports neither boto3 nor
s3transfer (a fifth of a second): :class:`~hg_localization.s3.bucket.Bucket` imports this module
in the methods that copy and download.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from boto3.s3.transfer import create_transfer_manager
from s3transfer.subscribers import BaseSubscriber

from hg_localization.progress import ProgressListener
from hg_localization.s3.client import TransferSettings

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from s3transfer.manager import TransferManager


def transfer_manager(client: S3Client, settings: TransferSettings) -> TransferManager:
    """A transfer manager on ``client`` (the classic one: the same code path, awscrt or not)."""
    return create_transfer_manager(client, settings.boto3_config())


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
