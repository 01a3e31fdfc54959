"""The bucket as the ``TeamCache`` that :func:`hg_localization.usecases.localize.localize` asks.

Two shapes, chosen by the configuration:

- :class:`BucketCache` (``s3_bucket_name``, credentials from the config or the AWS chain): fetch
  reads the private copies, push uploads (and, with ``make_public``, shares);
- :class:`PublicCache` (only ``public_url``, no bucket name): fetch reads the public copies
  anonymously over HTTP; push never writes (there is nothing to write with), and asking it to
  make something public is an error that says so.

What remains between a use case and the bytes is two layers: the ``TeamCache`` protocol (the
use cases' port: they cannot import s3/) and these two classes, each of which is itself the
:class:`~hg_localization.s3.fetch.RevisionSource` that :func:`~hg_localization.s3.fetch.fetch_revision`
reads from. They differ only in where keys live and how bytes travel (signed boto3 calls or plain
GETs); every check on what is read is in :mod:`.fetch`, shared.

The local store is handed in by the use cases (``store_of``): a push with ``make_public`` records
``public: true`` in the local metadata file through :meth:`LocalStore.mark_public`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from hg_localization.config import HGLocalizationConfig
from hg_localization.errors import InvalidInputError, StorageError
from hg_localization.ids import RepoId, RepoType
from hg_localization.progress import SILENT, ProgressListener
from hg_localization.s3.bucket import Bucket, DownloadItem
from hg_localization.s3.fetch import fetch_revision
from hg_localization.s3.keys import KeySpace
from hg_localization.s3.push import PushReport, push_revision
from hg_localization.store.local_store import LocalStore, StoredRevision
from hg_localization.store.manifest import RevisionManifest, Selection
from hg_localization.store.staging import Staging

logger = logging.getLogger(__name__)

#: The store new copies of a repo type go to (the use cases know the configuration's rules).
StoreOf = Callable[[RepoType], LocalStore]


class BucketCache:
    """The team bucket, read and written with credentials."""

    def __init__(self, config: HGLocalizationConfig, store_of: StoreOf, bucket: Bucket | None = None) -> None:
        self._config = config
        self._store_of = store_of
        self.bucket = bucket or Bucket.from_config(config)
        self._space = self.bucket.location.keys.private

    def describe(self) -> str:
        return self.bucket.location.describe()

    @property
    def public_url(self) -> str:
        return self._config.public_url or self.bucket.location.public_url()

    # --- reading (a RevisionSource) -------------------------------------------------------------
    def read_metadata(self, repo_type: RepoType, repo_id: RepoId, revision: str) -> bytes | None:
        got = self.bucket.get_bytes(self._space.metadata_key(repo_type, repo_id, revision))
        return got[0] if got else None

    def object_key(self, repo_type: RepoType, repo_id: RepoId, revision: str, local_path: str) -> str:
        return self._space.object_key(repo_type, repo_id, revision, local_path)

    def download_files(self, items: Sequence[DownloadItem], progress: ProgressListener) -> None:
        self.bucket.download_files(items, progress)

    def fetch(
        self,
        manifest_key: tuple[RepoType, RepoId, str],
        selections: Sequence[Selection],
        staging: Staging,
        progress: ProgressListener,
        metadata_files: Sequence[str] = (),
        commit: str | None = None,
    ) -> RevisionManifest | None:
        return fetch_revision(
            self,
            *manifest_key,
            selections,
            staging,
            metadata_files=metadata_files,
            commit=commit,
            progress=progress,
        )

    # --- writing --------------------------------------------------------------------------------
    def push(
        self,
        stored: StoredRevision,
        *,
        make_public: bool = False,
        progress: ProgressListener = SILENT,
        allow_private_public: bool = False,
    ) -> PushReport:
        """Push one complete revision, incrementally (:func:`push_revision`); with ``make_public``
        share it and mark the local copy public (a private or gated upstream revision only with
        ``allow_private_public``).

        Pushing every revision of the store is the use case's
        :func:`hg_localization.usecases.s3_sync.sync_all_local`, one revision at a time.
        """
        report = push_revision(
            self.bucket,
            stored,
            make_public=make_public,
            allow_private_public=allow_private_public,
            public_url=self.public_url,
            progress=progress,
        )
        if make_public and not stored.manifest.public:
            self._store_of(stored.manifest.repo_type).mark_public(stored)
        return report


class PublicCache:
    """Only a public URL: anonymous reads of what was shared; never a write."""

    def __init__(self, public_url: str, *, max_workers: int = 4) -> None:
        from hg_localization.s3.public_reader import PublicReader  # (httpx: a bucket sync needs none)

        self.reader = PublicReader(public_url, max_workers=max_workers)
        self._space = KeySpace("")  # the public URL is the public prefix itself

    def describe(self) -> str:
        return f"public copies at {self.reader.describe()}"

    # --- reading (a RevisionSource) -------------------------------------------------------------
    def read_metadata(self, repo_type: RepoType, repo_id: RepoId, revision: str) -> bytes | None:
        return self.reader.get_bytes(self._space.metadata_key(repo_type, repo_id, revision))

    def object_key(self, repo_type: RepoType, repo_id: RepoId, revision: str, local_path: str) -> str:
        return self._space.object_key(repo_type, repo_id, revision, local_path)

    def download_files(self, items: Sequence[DownloadItem], progress: ProgressListener) -> None:
        self.reader.download_files(items, progress)

    def fetch(
        self,
        manifest_key: tuple[RepoType, RepoId, str],
        selections: Sequence[Selection],
        staging: Staging,
        progress: ProgressListener,
        metadata_files: Sequence[str] = (),
        commit: str | None = None,
    ) -> RevisionManifest | None:
        return fetch_revision(
            self,
            *manifest_key,
            selections,
            staging,
            metadata_files=metadata_files,
            commit=commit,
            progress=progress,
        )

    # --- writing: nothing to write with ---------------------------------------------------------
    def push(
        self,
        stored: StoredRevision,
        *,
        make_public: bool,
        progress: ProgressListener,
        allow_private_public: bool = False,
    ) -> PushReport | None:
        if make_public:
            raise StorageError(
                "Only a public URL is configured: nothing can be uploaded or made public.",
                hint="Set HGLOC_S3_BUCKET_NAME and credentials that may write to the bucket.",
            )
        logger.debug("Only a public URL is configured: %s is not uploaded.", stored.repo_id)
        return None


def open_team_cache(config: HGLocalizationConfig, store_of: StoreOf) -> BucketCache | PublicCache:
    """The configured bucket (with credentials), else the public URL (anonymous)."""
    if config.s3_bucket_name:
        return BucketCache(config, store_of)
    if config.public_url:
        return PublicCache(config.public_url, max_workers=config.max_workers)
    raise InvalidInputError(
        "No team bucket is configured.",
        hint="Set HGLOC_S3_BUCKET_NAME (with credentials), or HGLOC_PUBLIC_URL to read public copies.",
    )
