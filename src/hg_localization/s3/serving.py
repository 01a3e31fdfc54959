"""The bucket as the server reads it: folders, metadata objects by ETag, ranged bodies, presigned URLs.

``serve --source bucket`` keeps no copy of anything: every revision it serves is read here, from
the private key space (:mod:`.keys`). Every method raises the project's errors (``StorageError``
through :mod:`.errors`), never a boto3 one, and never follows a key it did not build itself from
a checked id and revision.

- :meth:`ServingBucket.revisions` lists the revision folders of one repo (a delimiter listing:
  one request, whatever the number of files), :meth:`ServingBucket.repos` the repos of a type.
- :meth:`ServingBucket.metadata` is a conditional GET (``If-None-Match``): a metadata object
  that has not changed costs a 304 and no body.
- :meth:`ServingBucket.open_range` streams one object's bytes (a byte range of it), in chunks.
- :meth:`ServingBucket.presign` signs a GET of one object, for a redirect.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hg_localization.config import HGLocalizationConfig
from hg_localization.errors import InvalidInputError, StorageError
from hg_localization.ids import NO_NAMESPACE_FOLDER, RepoId, RepoType, parse_repo_id
from hg_localization.s3.bucket import Bucket
from hg_localization.s3.client import NEXT_OBJECTS, pages
from hg_localization.s3.errors import error_code, foreign_errors, is_not_found
from hg_localization.s3.keys import KeySpace
from hg_localization.store.layout import METADATA_FILENAME

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

#: What one read of an object's body asks for at a time.
STREAM_CHUNK_SIZE = 1024 * 1024
_NOT_MODIFIED = frozenset({"304", "NotModified"})


@dataclass(frozen=True)
class MetadataObject:
    """A metadata object's bytes and ETag (``data`` None: unchanged since the ETag that was sent)."""

    data: bytes | None
    etag: str


class ObjectChangedError(StorageError):
    """The object in the bucket is not the size its metadata object records (replaced, or damaged)."""


class ServingBucket:
    """The private revisions of one bucket, read for the server (thread-safe: one boto3 client)."""

    def __init__(self, bucket: Bucket) -> None:
        self.bucket = bucket
        self.space: KeySpace = bucket.location.keys.private

    @classmethod
    def from_config(cls, config: HGLocalizationConfig) -> ServingBucket:
        return cls(Bucket.from_config(config))

    def describe(self) -> str:
        return self.bucket.location.describe()

    @property
    def _client(self) -> S3Client:
        return self.bucket.client

    # --- listings ------------------------------------------------------------------------------
    def folders(self, prefix: str) -> list[str]:
        """The names of the "folders" right below ``prefix`` (which ends with ``/``), sorted."""
        names: list[str] = []
        with self.bucket.errors(f"list '{prefix}' in"):
            listing = self._client.list_objects_v2
            for page in pages(listing, NEXT_OBJECTS, Bucket=self.bucket.name, Prefix=prefix, Delimiter="/"):
                for common in page.get("CommonPrefixes", []):
                    name = common.get("Prefix", "")[len(prefix) :].rstrip("/")
                    if name and "/" not in name:
                        names.append(name)
        return sorted(names)

    def repos(self, repo_type: RepoType) -> list[RepoId]:
        """Every repo id with at least one folder under the type prefix (valid ids only)."""
        type_prefix = self.space.type_prefix(repo_type)
        found: list[RepoId] = []
        for namespace in self.folders(type_prefix):
            for name in self.folders(f"{type_prefix}{namespace}/"):
                try:
                    found.append(
                        parse_repo_id(name if namespace == NO_NAMESPACE_FOLDER else f"{namespace}/{name}")
                    )
                except InvalidInputError:
                    continue  # not a repo this tool wrote: never served
        return found

    def revisions(self, repo_type: RepoType, repo_id: RepoId) -> list[str]:
        """The revisions the repo has a folder for, in the canonical spelling only (unchecked content)."""
        namespace, name = repo_id.folder_parts
        repo_prefix = f"{self.space.type_prefix(repo_type)}{namespace}/{name}/"
        found: list[str] = []
        for folder in self.folders(repo_prefix):
            try:
                named = self.space.parse_metadata_key(repo_type, f"{repo_prefix}{folder}/{METADATA_FILENAME}")
            except InvalidInputError:
                continue
            if named is not None:
                found.append(named[1])
        return found

    # --- objects -------------------------------------------------------------------------------
    def metadata(
        self, repo_type: RepoType, repo_id: RepoId, revision: str, etag: str | None = None
    ) -> MetadataObject | None:
        """The revision's metadata object; ``data`` None when its ETag is still ``etag``; None if absent."""
        key = self.space.metadata_key(repo_type, repo_id, revision)
        arguments: dict[str, Any] = {"Bucket": self.bucket.name, "Key": key}
        if etag:
            arguments["IfNoneMatch"] = etag
        with self.bucket.errors(f"read '{key}' in"):
            try:
                answer = self._client.get_object(**arguments)
                return MetadataObject(data=answer["Body"].read(), etag=answer["ETag"])
            except foreign_errors() as exc:
                if etag and error_code(exc) in _NOT_MODIFIED:
                    return MetadataObject(data=None, etag=etag)
                if is_not_found(exc):
                    return None
                raise

    def object_key(self, repo_type: RepoType, repo_id: RepoId, revision: str, local_path: str) -> str:
        return self.space.object_key(repo_type, repo_id, revision, local_path)

    def open_range(self, key: str, start: int, end: int, expected_size: int) -> Generator[bytes, None, None]:
        """Bytes ``start`` to ``end`` (inclusive; ``end < start``: all of an empty object) of ``key``,
        in chunks, read as they are consumed.

        The request is sent at once (so a missing object or a refusal raises here, before any byte
        is handed on); :class:`ObjectChangedError` when the object is not ``expected_size`` bytes.
        A failure while reading raises ``StorageError`` from the iterator.
        """
        action = f"read '{key}' in"
        with self.bucket.errors(action):
            if end >= start:
                answer = self._client.get_object(
                    Bucket=self.bucket.name, Key=key, Range=f"bytes={start}-{end}"
                )
            else:  # an empty object: no range to ask for
                answer = self._client.get_object(Bucket=self.bucket.name, Key=key)
        body = answer["Body"]
        total = _total_size(answer.get("ContentRange"), answer.get("ContentLength"))
        if total != expected_size:
            body.close()
            raise ObjectChangedError(
                f"'{key}' in {self.describe()} is {total} bytes, not the {expected_size} its metadata "
                "object records; it was not served.",
                hint="Push that revision to the bucket again (hg-localization sync).",
            )
        return self._chunks(body, action)

    def _chunks(self, body: Any, action: str) -> Generator[bytes, None, None]:
        try:
            with self.bucket.errors(action):
                while chunk := body.read(STREAM_CHUNK_SIZE):
                    yield chunk
        finally:
            body.close()

    def presign(self, key: str, expires_in: int) -> str:
        """A URL that lets whoever holds it GET ``key`` for ``expires_in`` seconds."""
        with self.bucket.errors(f"sign a download of '{key}' from"):
            return self._client.generate_presigned_url(
                "get_object", Params={"Bucket": self.bucket.name, "Key": key}, ExpiresIn=expires_in
            )


def _total_size(content_range: str | None, content_length: int | None) -> int | None:
    """The whole object's size from ``Content-Range: bytes a-b/total`` (or the length of a 200)."""
    if content_range and "/" in content_range:
        total = content_range.rsplit("/", 1)[1]
        return int(total) if total.isdigit() else None
    return content_length


def missing_object(exc: BaseException) -> bool:
    """True for the error :meth:`ServingBucket.open_range` raises when the object is not there."""
    return (
        isinstance(exc, StorageError)
        and isinstance(exc.__cause__, BaseException)
        and is_not_found(exc.__cause__)
    )
