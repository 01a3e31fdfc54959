"""The team bucket as a handful of operations, each with its errors translated.

Files go up in one PUT each, several at once (``max_workers``), except those above
``MULTIPART_THRESHOLD``: those go in parts through :mod:`.multipart`, which resumes an upload
that a killed server or process left open instead of sending its parts again. Open uploads
nobody resumes are aborted by :meth:`Bucket.abort_stale_uploads`. Copies and downloads go
through boto3's transfer manager (:mod:`.managed`).

Each object carries its sha256 in its user metadata (``x-amz-meta-sha256``), so an incremental
sync can compare without downloading, and a reader can verify what it got. An upload reads each
local file once: its sha256 is computed from the very bytes that are sent, and an upload whose
bytes are not the recorded ones fails before the object is complete (:mod:`.transfers`).

Small shared objects (metadata objects, the public index) are changed read-modify-write with a
condition (:meth:`Bucket.update_object`), so that concurrent writers never drop each other's work.
"""

from __future__ import annotations

import hashlib
import logging
import random
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, BinaryIO, TypeVar, cast

from hg_localization.config import HGLocalizationConfig
from hg_localization.errors import StorageError
from hg_localization.progress import SILENT, ProgressListener
from hg_localization.s3.client import (
    NEXT_OBJECTS,
    NEXT_UPLOADS,
    BucketLocation,
    TransferSettings,
    bucket_location,
    make_client,
    pages,
    secret_of,
    transfer_config,
)
from hg_localization.s3.errors import (
    bucket_errors,
    error_code,
    foreign_errors,
    is_denied,
    is_not_found,
    is_precondition_failed,
    translate,
)
from hg_localization.s3.multipart import MultipartStats, ResumableUploader
from hg_localization.s3.transfers import (
    CopyItem,
    DownloadItem,
    RemoteObject,
    UnreadableSourceError,
    UploadItem,
    VerifyingReader,
    finish_upload,
)

__all__ = [
    "Bucket",
    "CopyItem",
    "DownloadItem",
    "RemoteObject",
    "UnreadableSourceError",
    "UploadItem",
    "WriteConflictError",
]

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

logger = logging.getLogger(__name__)

SHA256_METADATA = "sha256"
#: How many times :meth:`Bucket.update_object` reads and writes again before giving up.
MAX_UPDATE_ATTEMPTS = 12

T = TypeVar("T")


class WriteConflictError(StorageError):
    """A conditional write lost: someone else changed the object first (read it again, retry)."""


class Bucket:
    """One bucket through one client; every method raises ``StorageError``, never a boto3 error."""

    def __init__(
        self,
        client: S3Client,
        location: BucketLocation,
        *,
        transfer: TransferSettings | None = None,
        secret: str | None = None,
    ) -> None:
        self.client = client
        self.location = location
        self.transfer = transfer or transfer_config(4)
        self._secret = secret

    @classmethod
    def from_config(cls, config: HGLocalizationConfig) -> Bucket:
        return cls(
            make_client(config),
            bucket_location(config),
            transfer=transfer_config(config.max_workers),
            secret=secret_of(config),
        )

    @property
    def name(self) -> str:
        return self.location.bucket

    def errors(self, action: str) -> AbstractContextManager[None]:
        return bucket_errors(self.location, action, secret=self._secret)

    def _translate(self, exc: BaseException, action: str) -> StorageError:
        return translate(exc, self.location, action, secret=self._secret)

    # --- single objects ----------------------------------------------------------------------
    def head(self, key: str) -> RemoteObject | None:
        try:
            answer = self.client.head_object(Bucket=self.name, Key=key)
        except foreign_errors() as exc:
            if is_not_found(exc):
                return None
            raise self._translate(exc, f"read '{key}' in") from exc
        metadata = {k.lower(): v for k, v in answer.get("Metadata", {}).items()}
        sha256 = metadata.get(SHA256_METADATA)
        return RemoteObject(key=key, size=answer["ContentLength"], sha256=sha256, etag=answer.get("ETag"))

    def get_bytes(self, key: str) -> tuple[bytes, str] | None:
        """The object's content and ETag, or None when there is no such key."""
        try:
            answer = self.client.get_object(Bucket=self.name, Key=key)
            return answer["Body"].read(), answer["ETag"]
        except foreign_errors() as exc:
            if is_not_found(exc):
                return None
            raise self._translate(exc, f"read '{key}' in") from exc

    def put_bytes(
        self,
        key: str,
        data: bytes,
        *,
        sha256: str | None = None,
        if_match: str | None = None,
        if_none_match: bool = False,
        content_type: str = "application/json",
    ) -> str:
        """Write a small object; with ``if_match``/``if_none_match`` only when nobody wrote first.

        Raises :class:`WriteConflictError` when the condition does not hold.
        """
        args: dict[str, Any] = {"Bucket": self.name, "Key": key, "Body": data, "ContentType": content_type}
        if sha256:
            args["Metadata"] = {SHA256_METADATA: sha256}
        if if_match:
            args["IfMatch"] = if_match
        if if_none_match:
            args["IfNoneMatch"] = "*"
        try:
            answer = self.client.put_object(**args)
        except foreign_errors() as exc:
            lost = is_precondition_failed(exc) or (if_match is not None and is_not_found(exc))
            if (if_match or if_none_match) and lost:  # (deleted meanwhile counts as changed)
                raise WriteConflictError(f"'{key}' in {self.location.describe()} changed meanwhile.") from exc
            raise self._translate(exc, f"write '{key}' to") from exc
        return answer["ETag"]

    def update_object(
        self,
        key: str,
        change: Callable[[bytes | None], tuple[T, bytes | None]],
        *,
        what: str,
        hint: str | None = None,
        attempts: int | None = None,
    ) -> T:
        """Read-modify-write ``key`` without losing a concurrent writer's change.

        ``change`` gets the object's current content (None: there is none) and returns what to
        hand back and the new content (None: leave the object as it is). The write is conditional
        (``IfMatch`` the ETag read, ``IfNoneMatch: *`` when there was none); when someone else
        wrote first, the object is read again and ``change`` asked again. ``change`` may raise to
        refuse (nothing is written then). ``what`` names the object in the error raised when it
        kept changing.
        """
        tries = attempts if attempts is not None else MAX_UPDATE_ATTEMPTS
        for attempt in range(tries):
            got = self.get_bytes(key)
            current, etag = got if got is not None else (None, None)
            result, data = change(current)
            if data is None:
                return result
            try:
                self.put_bytes(
                    key,
                    data,
                    sha256=hashlib.sha256(data).hexdigest(),
                    if_match=etag,
                    if_none_match=etag is None,
                )
            except WriteConflictError:
                time.sleep(random.uniform(0.02, 0.1) * (attempt + 1))  # noqa: S311 (jitter, not crypto)
                continue
            return result
        raise StorageError(
            f"Could not update {what} in {self.location.describe()}: "
            f"it kept changing during {tries} attempts.",
            hint=hint or "Run the command again.",
        )

    def delete(self, key: str, *, if_match: str | None = None) -> None:
        """Delete ``key``; with ``if_match`` only while it is the object read (else WriteConflictError)."""
        args: dict[str, Any] = {"Bucket": self.name, "Key": key}
        if if_match:
            args["IfMatch"] = if_match
        try:
            self.client.delete_object(**args)
        except foreign_errors() as exc:
            if if_match and (is_precondition_failed(exc) or is_not_found(exc)):
                raise WriteConflictError(
                    f"'{key}' in {self.location.describe()} changed meanwhile.",
                    hint="Someone else is writing the same revision; run the command again.",
                ) from exc
            raise self._translate(exc, f"delete '{key}' from") from exc

    def list(self, prefix: str) -> Iterator[RemoteObject]:
        """Every object under ``prefix`` (keys, sizes and ETags; sha256 needs :meth:`head`)."""
        with self.errors(f"list '{prefix}' in"):
            listing = self.client.list_objects_v2
            for page in pages(listing, NEXT_OBJECTS, Bucket=self.name, Prefix=prefix):
                for item in page.get("Contents", []):
                    yield RemoteObject(key=item["Key"], size=item["Size"], etag=item.get("ETag"))

    # --- bucket policy -----------------------------------------------------------------------
    def get_policy(self) -> str | None:
        try:
            return self.client.get_bucket_policy(Bucket=self.name)["Policy"]
        except foreign_errors() as exc:
            if error_code(exc) == "NoSuchBucketPolicy":
                return None
            raise self._translate(exc, "read the bucket policy of") from exc

    def put_policy(self, policy: str) -> None:
        with self.errors("set the bucket policy of"):
            self.client.put_bucket_policy(Bucket=self.name, Policy=policy)

    # --- whole files: one PUT each, big ones in parts ------------------------------------------
    def upload_files(
        self, items: Sequence[UploadItem], progress: ProgressListener = SILENT
    ) -> MultipartStats:
        """Upload each file, reading it once and checking its bytes against ``item.sha256``.

        A file whose bytes are not the recorded ones raises :class:`IntegrityError`, a file that
        cannot be read :class:`UnreadableSourceError`; in both cases its object is not completed.
        Big files resume an upload a previous run left open (what was kept is in the returned stats).
        """
        for item in items:  # every file is there, at its recorded size, before anything is sent
            VerifyingReader(item).check_size()
        threshold = self.transfer.multipart_threshold
        uploader = ResumableUploader(
            self.client,
            self.name,
            self.errors,
            part_size=self.transfer.multipart_chunksize,
            max_workers=self.transfer.max_request_concurrency,
        )
        self._upload_small([item for item in items if item.size < threshold], progress, uploader.stats.etags)
        for item in items:
            if item.size >= threshold:
                uploader.upload(item, progress)
        return uploader.stats

    def _upload_small(
        self, items: Sequence[UploadItem], progress: ProgressListener, etags: dict[str, str]
    ) -> None:
        """One PUT each, several at once; ``etags`` gets the ETag the bucket gave each.

        botocore's own calls, not the transfer manager: its futures and callbacks were a fifth
        of each small file's PUT. The first failure cancels the PUTs not begun yet.
        """
        if not items:
            return
        readers = [VerifyingReader(item) for item in items]
        workers = min(len(readers), self.transfer.max_request_concurrency)
        try:
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="hgloc-put") as pool:
                futures = [(reader, pool.submit(self._put_file, reader, progress)) for reader in readers]
                try:
                    for reader, future in futures:
                        etag = finish_upload(reader, future, self.errors, self.delete)
                        if etag:
                            etags[reader.item.key] = etag.strip('"')
                except BaseException:
                    pool.shutdown(cancel_futures=True)  # the PUTs not begun yet
                    raise
        finally:
            for reader in readers:
                reader.close()

    def _put_file(self, reader: VerifyingReader, progress: ProgressListener) -> str | None:
        """PUT ``reader``'s file (its sha256 in the object's metadata); the ETag answered."""
        item = reader.item
        progress.upload_started(item.label, item.size)
        try:
            answer = self.client.put_object(
                Bucket=self.name,
                Key=item.key,
                Body=cast(BinaryIO, reader),  # an io.BufferedIOBase, read (and re-read) by botocore
                Metadata={SHA256_METADATA: item.sha256},
            )
            progress.file_advanced(item.label, item.size)
        finally:
            reader.release()
            progress.file_finished(item.label)
        return answer.get("ETag")

    def copy_objects(self, items: Sequence[CopyItem], progress: ProgressListener = SILENT) -> None:
        """Server-side copies (multipart for big objects); user metadata (the sha256) is kept."""
        if not items:
            return
        from hg_localization.s3 import managed  # (boto3: imported only when files move)

        with managed.transfer_manager(self.client, self.transfer) as manager:
            futures = [
                (
                    item,
                    manager.copy(
                        {"Bucket": self.name, "Key": item.source_key},
                        self.name,
                        item.key,
                        subscribers=[managed.TransferProgress(progress, item.label, item.size)],
                    ),
                )
                for item in items
            ]
            for item, future in futures:
                with self.errors(f"copy '{item.label}' within"):
                    future.result()

    def download_files(self, items: Sequence[DownloadItem], progress: ProgressListener = SILENT) -> None:
        """Each object to its target (written to a temp name by the manager, then renamed)."""
        if not items:
            return
        from hg_localization.s3 import managed  # (boto3: imported only when files move)

        for item in items:
            item.target.parent.mkdir(parents=True, exist_ok=True)
        with managed.transfer_manager(self.client, self.transfer) as manager:
            futures = [
                (
                    item,
                    manager.download(
                        self.name,
                        item.key,
                        str(item.target),
                        subscribers=[managed.TransferProgress(progress, item.label, item.size)],
                    ),
                )
                for item in items
            ]
            for item, future in futures:
                with self.errors(f"download '{item.label}' from"):
                    future.result()

    def abort_stale_uploads(self, prefix: str, older_than: timedelta) -> int:
        """Abort multipart uploads under ``prefix`` begun before ``now - older_than``.

        A server killed mid-upload keeps the parts it received; nobody will complete them. The
        age limit keeps a concurrent pusher's upload alive. Not being allowed to list them is
        not an error (many IAM policies leave that permission out).
        """
        cutoff = datetime.now(UTC) - older_than
        aborted = 0
        try:
            listing = self.client.list_multipart_uploads
            for page in pages(listing, NEXT_UPLOADS, Bucket=self.name, Prefix=prefix):
                for upload in page.get("Uploads", []):
                    if upload["Initiated"] <= cutoff:
                        self.client.abort_multipart_upload(
                            Bucket=self.name, Key=upload["Key"], UploadId=upload["UploadId"]
                        )
                        aborted += 1
        except foreign_errors() as exc:
            if is_denied(exc):
                logger.debug("Not allowed to list incomplete uploads under %s: %s", prefix, error_code(exc))
                return aborted
            raise self._translate(exc, f"abort incomplete uploads under '{prefix}' in") from exc
        return aborted
