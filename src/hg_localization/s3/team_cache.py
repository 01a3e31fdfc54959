"""The bucket as the ``TeamCache`` that :func:`hg_localization.usecases.localize.localize` asks.

Two shapes, chosen by the configuration:

- a bucket (``s3_bucket_name``, credentials from the config or the AWS chain): fetch reads the
  private copies, push uploads (and, with ``make_public``, shares);
- only a public URL (``public_url``, no bucket name): fetch reads the public copies anonymously
  over HTTP; push never writes (there is nothing to write with), and asking it to make something
  public is an error that says so.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Sequence

from hg_localization.config import HGLocalizationConfig
from hg_localization.errors import InvalidInputError, StorageError
from hg_localization.ids import RepoId, RepoType, parse_repo_id
from hg_localization.s3.bucket import Bucket
from hg_localization.s3.fetch import BucketSource, PublicSource, RevisionSource, fetch_revision
from hg_localization.s3.public_reader import PublicReader
from hg_localization.s3.push import PushReport, push_revision
from hg_localization.store.atomic import atomic_write_text
from hg_localization.store.layout import METADATA_FILENAME
from hg_localization.store.local_store import Staging, StoredRevision
from hg_localization.store.manifest import RevisionManifest, Selection
from hg_localization.usecases.progress import SILENT, ProgressListener
from hg_localization.usecases.repos import local_store

logger = logging.getLogger(__name__)


class _SourceCache(ABC):
    """What both caches share: a revision is fetched from their :class:`RevisionSource`."""

    @abstractmethod
    def _source(self) -> RevisionSource:
        """Where this cache reads complete revisions from."""

    def fetch(
        self,
        manifest_key: tuple[RepoType, RepoId, str],
        selections: Sequence[Selection],
        staging: Staging,
        progress: ProgressListener,
        metadata_files: Sequence[str] = (),
        commit: str | None = None,
    ) -> RevisionManifest | None:
        repo_type, repo_id, revision = manifest_key
        return fetch_revision(
            self._source(),
            repo_type,
            repo_id,
            revision,
            selections,
            staging,
            metadata_files=metadata_files,
            commit=commit,
            progress=progress,
        )


class BucketCache(_SourceCache):
    """The team bucket, read and written with credentials."""

    def __init__(self, config: HGLocalizationConfig, bucket: Bucket | None = None) -> None:
        self._config = config
        self.bucket = bucket or Bucket.from_config(config)

    def describe(self) -> str:
        return self.bucket.location.describe()

    @property
    def public_url(self) -> str:
        return self._config.public_url or self.bucket.location.public_url()

    def _source(self) -> RevisionSource:
        return BucketSource(self.bucket)

    def push(
        self,
        stored: StoredRevision,
        *,
        make_public: bool,
        progress: ProgressListener,
        allow_private_public: bool = False,
    ) -> PushReport:
        return self.sync(
            stored, make_public=make_public, progress=progress, allow_private_public=allow_private_public
        )

    def sync(
        self,
        stored: StoredRevision,
        *,
        make_public: bool = False,
        progress: ProgressListener = SILENT,
        allow_private_public: bool = False,
    ) -> PushReport:
        """Push ``stored`` incrementally; with ``make_public`` share it and mark the local copy public
        (a private or gated upstream revision only with ``allow_private_public``)."""
        report = push_revision(
            self.bucket,
            stored,
            make_public=make_public,
            allow_private_public=allow_private_public,
            public_url=self.public_url,
            progress=progress,
        )
        if make_public and not stored.manifest.public:
            mark_public_locally(self._config, stored)
        return report


class PublicCache(_SourceCache):
    """Only a public URL: anonymous reads of what was shared; never a write."""

    def __init__(self, public_url: str, *, max_workers: int = 4) -> None:
        self.reader = PublicReader(public_url, max_workers=max_workers)

    def describe(self) -> str:
        return f"public copies at {self.reader.describe()}"

    def _source(self) -> RevisionSource:
        return PublicSource(self.reader)

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


def open_team_cache(config: HGLocalizationConfig) -> BucketCache | PublicCache:
    """The configured bucket (with credentials), else the public URL (anonymous)."""
    if config.s3_bucket_name:
        return BucketCache(config)
    if config.public_url:
        return PublicCache(config.public_url, max_workers=config.max_workers)
    raise InvalidInputError(
        "No team bucket is configured.",
        hint="Set HGLOC_S3_BUCKET_NAME (with credentials), or HGLOC_PUBLIC_URL to read public copies.",
    )


def mark_public_locally(config: HGLocalizationConfig, stored: StoredRevision) -> None:
    """Record ``public: true`` in the local metadata file (atomically, under the revision's lock).

    The file is rewritten only when it still describes the commit that was pushed.
    """
    manifest = stored.manifest
    store = local_store(config, manifest.repo_type)
    repo_id = parse_repo_id(manifest.repo_id)
    with store.lock(repo_id, manifest.revision):
        current = store.get(repo_id, manifest.revision)
        if current is None or current.path != stored.path or current.manifest.commit != manifest.commit:
            return
        updated = current.manifest.model_copy(update={"public": True})
        atomic_write_text(current.path / METADATA_FILENAME, updated.to_json())
