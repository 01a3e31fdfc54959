"""Big files go up in parts, and an upload cut short (the server or this process killed) resumes.

::

    the key's open multipart uploads (its exact key; the one with most parts) ── none ─▶ create one
      │                                                      (the file's sha256 in its metadata)
      ▼
    its parts so far (size, and ETag: the MD5 of the part)
    the file, read once and in order, part by part (VerifyingReader: the sha256 of every byte)
      ├─ the part is there with the same size and MD5 ─▶ kept, not sent again
      └─ else ─▶ upload_part (several at once)
    last byte read and its sha256 is not the recorded one ─▶ abort the upload, IntegrityError
    complete it with exactly these parts
    the object's sha256 metadata is not this file's (an upload begun for other bytes under the
    same key: a branch that moved) ─▶ upload the file again, afresh

Nothing is completed before every byte was hashed, so a damaged local file never becomes an
object. A failure that is not about the file (the server went away, Ctrl-C, the process killed)
leaves the upload open, so that the next push resumes it; uploads nobody resumes are aborted by
:meth:`hg_localization.s3.bucket.Bucket.abort_stale_uploads` once they are old.

A concurrent push of the same file from another machine may resume the same upload; one of the
two then fails (its upload was completed by the other) and its retry finds the object in place.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import logging
import zlib
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hg_localization.errors import IntegrityError, StorageError
from hg_localization.progress import ProgressListener
from hg_localization.s3.client import NEXT_PARTS, NEXT_UPLOADS, pages
from hg_localization.s3.errors import BucketUnreachableError, error_code, foreign_errors, is_denied
from hg_localization.s3.transfers import UnreadableSourceError, UploadItem, VerifyingReader

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

logger = logging.getLogger(__name__)

SHA256_METADATA = "sha256"
_CHECKSUM_KEYS = ("ChecksumCRC32", "ChecksumCRC32C", "ChecksumCRC64NVME", "ChecksumSHA1", "ChecksumSHA256")


@dataclass(frozen=True)
class Part:
    number: int
    offset: int
    size: int


@dataclass
class MultipartStats:
    """What the uploads of one push did: parts sent, parts kept from a cut-short run, and the ETag
    the bucket gave each object written (by key; quotes stripped) when it is known."""

    parts_sent: int = 0
    parts_kept: int = 0
    bytes_kept: int = 0
    etags: dict[str, str] = field(default_factory=dict)


@dataclass
class _OpenUpload:
    upload_id: str
    #: The parts already there, by number: (size, MD5 hex, their checksum fields).
    parts: dict[int, tuple[int, str, dict[str, str]]] = field(default_factory=dict)
    checksum_algorithm: str | None = None


def plan_parts(size: int, part_size: int) -> list[Part]:
    """The parts of a file of ``size`` bytes (bigger parts when there would be more than S3 allows)."""
    from s3transfer.utils import ChunksizeAdjuster  # (s3transfer: only when a big file is sent)

    part_size = ChunksizeAdjuster().adjust_chunksize(part_size, size)
    return [
        Part(number=index + 1, offset=offset, size=min(part_size, size - offset))
        for index, offset in enumerate(range(0, max(size, 1), part_size))
    ]


def _md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def part_checksum(algorithm: str, data: bytes) -> dict[str, str] | None:
    """The checksum field a CompleteMultipartUpload needs for a part, computed from its bytes.

    (A server that does not list the parts' checksums still wants them back: SeaweedFS does.)
    None for an algorithm that cannot be computed here: such a part is sent again.
    """
    name = algorithm.upper()
    if name == "CRC32":
        digest = zlib.crc32(data).to_bytes(4, "big")
    elif name in ("SHA1", "SHA256"):
        digest = hashlib.new(name.lower(), data).digest()
    else:
        return None
    return {f"Checksum{name}": base64.b64encode(digest).decode()}


class ResumableUploader:
    """Uploads one big file at a time in parts, resuming an upload a previous run left open."""

    def __init__(
        self,
        client: S3Client,
        bucket: str,
        errors: Callable[[str], AbstractContextManager[None]],
        *,
        part_size: int,
        max_workers: int,
    ) -> None:
        self._client = client
        self._bucket = bucket
        self._errors = errors
        self._part_size = part_size
        self._max_workers = max(1, max_workers)
        self.stats = MultipartStats()

    def upload(self, item: UploadItem, progress: ProgressListener) -> None:
        """Upload ``item``, resuming the open upload of it that has the most parts, if any.

        IntegrityError (and no object) when its bytes are not the recorded ones. A resumed upload
        that cannot be completed (another push completed it meanwhile, the server wants checksums
        this client cannot give), or that was begun for other bytes, is replaced by a fresh one.
        """
        VerifyingReader(item).check_size()  # before anything is asked of the bucket
        found = self._find_open_upload(item.key, self._default_algorithm())
        if found is not None:
            try:
                self._upload_into(item, found, progress)
            except StorageError as exc:
                if isinstance(exc, BucketUnreachableError):
                    raise  # left open: the next push resumes it
                logger.info("Could not resume the upload of %s (%s); starting afresh.", item.key, exc.message)
                self._abort(item.key, found.upload_id)
            else:
                if self._recorded_sha256(item.key) == item.sha256:
                    return
                logger.info(
                    "The resumed upload of %s was begun for other bytes; uploading it again.", item.key
                )
        self._upload_into(item, self._create(item), progress)

    def _upload_into(self, item: UploadItem, upload: _OpenUpload, progress: ProgressListener) -> None:
        """Send what ``upload`` lacks of ``item`` and complete it; abort it when the file is wrong."""
        reader = VerifyingReader(item)
        attempt = MultipartStats()
        try:
            progress.upload_started(item.label, item.size)
            try:
                plan = plan_parts(item.size, self._part_size)
                parts = self._send_parts(reader, upload, plan, progress, attempt)
            except (IntegrityError, UnreadableSourceError):
                self._abort(item.key, upload.upload_id)  # the file is wrong: nothing to resume
                raise
            finally:
                progress.file_finished(item.label)
            if not reader.verified:  # every byte is read in order here: cannot happen, but never complete
                self._abort(item.key, upload.upload_id)
                raise IntegrityError(str(item.source), item.sha256, reader.hash_source())
            with self._errors(f"complete the upload of '{item.label}' to"):
                answer = self._client.complete_multipart_upload(
                    Bucket=self._bucket,
                    Key=item.key,
                    UploadId=upload.upload_id,
                    MultipartUpload={"Parts": parts},  # type: ignore[typeddict-item]
                )
        finally:
            reader.close()
        etag = answer.get("ETag")
        if etag:
            self.stats.etags[item.key] = etag.strip('"')
        self.stats.parts_sent += attempt.parts_sent
        self.stats.parts_kept += attempt.parts_kept
        self.stats.bytes_kept += attempt.bytes_kept

    # --- the open upload -----------------------------------------------------------------------
    def _find_open_upload(self, key: str, algorithm: str | None) -> _OpenUpload | None:
        """The open upload of ``key`` with the most parts, if any (None when listing is not allowed).

        ``algorithm``: the parts' checksum algorithm when the server does not say (ours, by default).
        """
        try:
            listing = self._client.list_multipart_uploads
            uploads = [
                upload
                for page in pages(listing, NEXT_UPLOADS, Bucket=self._bucket, Prefix=key)
                for upload in page.get("Uploads", [])
                if upload.get("Key") == key and upload.get("UploadId")
            ]
        except foreign_errors() as exc:
            if is_denied(exc) or error_code(exc) == "NotImplemented":
                logger.debug("Cannot list the open uploads of %s (%s): not resuming.", key, error_code(exc))
                return None
            with self._errors(f"list the open uploads of '{key}' in"):
                raise
        best: _OpenUpload | None = None
        for upload in sorted(uploads, key=lambda u: str(u.get("Initiated", "")), reverse=True):
            candidate = self._listed_parts(key, upload["UploadId"], algorithm)
            if candidate is not None and (best is None or len(candidate.parts) > len(best.parts)):
                best = candidate
        return best

    def _listed_parts(self, key: str, upload_id: str, algorithm: str | None) -> _OpenUpload | None:
        found = _OpenUpload(upload_id=upload_id, checksum_algorithm=algorithm)
        try:
            listing = self._client.list_parts
            for page in pages(listing, NEXT_PARTS, Bucket=self._bucket, Key=key, UploadId=upload_id):
                found.checksum_algorithm = page.get("ChecksumAlgorithm") or found.checksum_algorithm
                for part in page.get("Parts", []):
                    checksums = {k: str(part[k]) for k in _CHECKSUM_KEYS if part.get(k)}
                    etag = str(part.get("ETag", "")).strip('"').lower()
                    found.parts[int(part["PartNumber"])] = (int(part["Size"]), etag, checksums)
        except foreign_errors() as exc:
            if error_code(exc) in ("NoSuchUpload", "404", "NotFound") or is_denied(exc):
                return None  # completed or aborted meanwhile, or not ours to see
            with self._errors(f"list the parts uploaded to '{key}' in"):
                raise
        return found

    def _create(self, item: UploadItem) -> _OpenUpload:
        args: dict[str, Any] = {
            "Bucket": self._bucket,
            "Key": item.key,
            "Metadata": {SHA256_METADATA: item.sha256},
        }
        algorithm = self._default_algorithm()
        if algorithm:
            args["ChecksumAlgorithm"] = algorithm
        with self._errors(f"start the upload of '{item.label}' to"):
            answer = self._client.create_multipart_upload(**args)
        return _OpenUpload(upload_id=answer["UploadId"], checksum_algorithm=algorithm)

    def _default_algorithm(self) -> str | None:
        """As boto3's transfer manager: a CRC32 of each part, unless checksums are only "when required"."""
        calculation = getattr(self._client.meta.config, "request_checksum_calculation", None)
        return None if calculation == "when_required" else "CRC32"

    def _abort(self, key: str, upload_id: str) -> None:
        with contextlib.suppress(*foreign_errors()):
            self._client.abort_multipart_upload(Bucket=self._bucket, Key=key, UploadId=upload_id)

    def _recorded_sha256(self, key: str) -> str | None:
        with self._errors(f"read '{key}' in"):
            answer = self._client.head_object(Bucket=self._bucket, Key=key)
        return {k.lower(): v for k, v in answer.get("Metadata", {}).items()}.get(SHA256_METADATA)

    # --- the parts ---------------------------------------------------------------------------
    def _send_parts(
        self,
        reader: VerifyingReader,
        upload: _OpenUpload,
        parts: list[Part],
        progress: ProgressListener,
        stats: MultipartStats,
    ) -> list[dict[str, Any]]:
        """Read every part in order; send those the upload lacks, at most ``max_workers`` at once."""
        label = reader.item.label
        done: list[dict[str, Any]] = []
        with ThreadPoolExecutor(max_workers=self._max_workers, thread_name_prefix="hgloc-part") as pool:
            pending: dict[Future[dict[str, Any]], Part] = {}
            try:
                for part in parts:
                    data = reader.read(part.size)  # hashed; the last part's read checks the sha256
                    kept = _kept_part(upload, part, data)
                    if kept is not None:
                        done.append(kept)
                        stats.parts_kept += 1
                        stats.bytes_kept += part.size
                        progress.file_advanced(label, part.size)
                        continue
                    while len(pending) >= self._max_workers:
                        self._collect(pending, done, progress, label, stats)
                    pending[pool.submit(self._send, reader.item, upload, part.number, data)] = part
                while pending:
                    self._collect(pending, done, progress, label, stats)
            except BaseException:
                for future in pending:
                    future.cancel()
                raise
        return sorted(done, key=lambda p: int(p["PartNumber"]))

    def _collect(
        self,
        pending: dict[Future[dict[str, Any]], Part],
        done: list[dict[str, Any]],
        progress: ProgressListener,
        label: str,
        stats: MultipartStats,
    ) -> None:
        """Wait for at least one part upload to finish; record it (or raise its error)."""
        finished, _ = wait(list(pending), return_when=FIRST_COMPLETED)
        for future in finished:
            part = pending.pop(future)
            done.append(future.result())  # raises the part's StorageError
            stats.parts_sent += 1
            progress.file_advanced(label, part.size)

    def _send(self, item: UploadItem, upload: _OpenUpload, number: int, data: bytes) -> dict[str, Any]:
        args: dict[str, Any] = {
            "Bucket": self._bucket,
            "Key": item.key,
            "UploadId": upload.upload_id,
            "PartNumber": number,
            "Body": data,
        }
        if upload.checksum_algorithm:
            args["ChecksumAlgorithm"] = upload.checksum_algorithm
        with self._errors(f"upload part {number} of '{item.label}' to"):
            answer = self._client.upload_part(**args)
        checksums = {k: str(answer[k]) for k in _CHECKSUM_KEYS if answer.get(k)}  # type: ignore[literal-required]
        return {"PartNumber": number, "ETag": answer["ETag"], **checksums}


def _kept_part(upload: _OpenUpload, part: Part, data: bytes) -> dict[str, Any] | None:
    """The entry for ``part`` in the completion, when the upload already holds exactly ``data`` there."""
    there = upload.parts.get(part.number)
    if there is None or there[0] != part.size or there[1] != _md5(data):
        return None
    checksums: dict[str, str] | None = there[2]
    if not checksums and upload.checksum_algorithm:
        checksums = part_checksum(upload.checksum_algorithm, data)
        if checksums is None:
            return None
    return {"PartNumber": part.number, "ETag": f'"{there[1]}"', **(checksums or {})}
