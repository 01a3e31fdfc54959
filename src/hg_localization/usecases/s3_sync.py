"""Use cases for the team bucket: push local revisions, list what the bucket and the public index hold.

Generic over the repo type: models and datasets live under ``models/`` and ``datasets/`` of the
same bucket, with ``public_models.json`` and ``public_datasets.json`` as their public indexes.
``make_public`` never publishes a private or gated upstream revision unless
``allow_private_public`` (checked by the push itself, before anything is uploaded).

A revision of the unscoped store (localized before the bucket was configured) is adopted by the
push: hard-linked (copied across disks) into the bucket's scope of the store, then uploaded from
there, so the store records which bucket has it. When that folder cannot be written (a read-only
store), it is uploaded from where it is. Copies made for another bucket stay with that bucket.

Words: a *push* sends one revision (:func:`hg_localization.s3.push.push_revision`, and
``BucketCache.push`` for the localizations); a *sync* is what the commands are called
(``sync-local-model-to-s3``: one revision, :func:`sync_local_repo`; ``sync-all-local-models-to-s3``:
every revision of the store, :func:`sync_all_local`, one push each).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from hg_localization.config import HGLocalizationConfig
from hg_localization.errors import HGLocalizationError, InvalidInputError, NotLocalizedError, StorageError
from hg_localization.ids import RepoId, RepoType, parse_repo_id
from hg_localization.progress import SILENT, ProgressListener
from hg_localization.s3.bucket import Bucket
from hg_localization.s3.catalog import IndexEntry, Listing, list_entries, rebuild_entries
from hg_localization.s3.client import bucket_location
from hg_localization.s3.errors import BucketUnreachableError
from hg_localization.s3.keys import public_index_name
from hg_localization.s3.push import PushReport, push_revision
from hg_localization.s3.team_cache import BucketCache
from hg_localization.store.local_store import LocalStore, StoredRevision
from hg_localization.usecases.options import LocalizeOptions
from hg_localization.usecases.repos import check_make_public, find_local_revision, local_store, local_stores

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SyncResult:
    """One revision of a sync-all: pushed (``report``) or not (``error``)."""

    repo_id: str
    revision: str
    report: PushReport | None = None
    error: HGLocalizationError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def bucket_cache(config: HGLocalizationConfig) -> BucketCache:
    """The configured bucket, with credentials; InvalidInputError saying what to set without one."""
    bucket_location(config)  # raises when no bucket is configured
    return BucketCache(config, lambda repo_type: local_store(config, repo_type))


def sync_revision_to_bucket(
    stored: StoredRevision,
    config: HGLocalizationConfig,
    make_public: bool = False,
    progress: ProgressListener = SILENT,
    *,
    allow_private_public: bool = False,
) -> PushReport:
    """Push one complete local revision (incrementally); with ``make_public`` share it too."""
    return _push_locked(
        bucket_cache(config),
        config,
        stored,
        _Sharing(make_public, allow_private_public),
        progress=progress,
    )


def sync_local_repo(
    config: HGLocalizationConfig,
    repo_type: RepoType,
    repo_id: str,
    revision: str | None = None,
    *,
    make_public: bool = False,
    allow_private_public: bool = False,
    progress: ProgressListener = SILENT,
) -> PushReport:
    check_make_public(
        config, LocalizeOptions(make_public=make_public, allow_private_public=allow_private_public)
    )
    stored = find_local_revision(config, repo_type, repo_id, revision)
    return sync_revision_to_bucket(
        stored, config, make_public, progress, allow_private_public=allow_private_public
    )


def sync_all_local(
    config: HGLocalizationConfig,
    repo_type: RepoType,
    *,
    make_public: bool = False,
    allow_private_public: bool = False,
    progress: ProgressListener = SILENT,
) -> list[SyncResult]:
    """Push every local revision of this bucket's scope and of the unscoped store (adopted); one
    failure does not stop the others (with ``make_public``, a private or gated upstream revision
    is one such failure)."""
    check_make_public(
        config, LocalizeOptions(make_public=make_public, allow_private_public=allow_private_public)
    )
    sharing = _Sharing(make_public, allow_private_public)
    cache = bucket_cache(config)
    results: list[SyncResult] = []
    for stored in _to_sync(config, repo_type):
        manifest = stored.manifest
        try:
            report = _push_locked(cache, config, stored, sharing, progress=progress)
        except HGLocalizationError as exc:
            results.append(SyncResult(manifest.repo_id, manifest.revision, error=exc))
            if isinstance(exc, BucketUnreachableError):
                break  # the same for every revision: say it once
            continue
        results.append(SyncResult(manifest.repo_id, manifest.revision, report=report))
    return results


def _to_sync(config: HGLocalizationConfig, repo_type: RepoType) -> list[StoredRevision]:
    """This bucket's revisions, then the unscoped store's that this bucket's scope lacks."""
    scoped, unscoped = local_stores(config, repo_type)[:2]
    mine = list(scoped.iter_revisions())
    have = {(s.manifest.repo_id, s.manifest.revision) for s in mine}
    adopted = [s for s in unscoped.iter_revisions() if (s.manifest.repo_id, s.manifest.revision) not in have]
    return sorted(mine + adopted, key=lambda s: (s.manifest.repo_id, s.manifest.revision))


@dataclass(frozen=True)
class _Sharing:
    """What a push was asked to share: ``make_public``, and whether a private upstream repo may be."""

    make_public: bool = False
    allow_private_public: bool = False


def _push_locked(
    cache: BucketCache,
    config: HGLocalizationConfig,
    stored: StoredRevision,
    sharing: _Sharing,
    *,
    progress: ProgressListener,
) -> PushReport:
    """Push ``stored`` while holding its revision's lock: no localization changes the folder meanwhile.

    The folder is read again under the lock (a localization may have replaced it since it was
    found). Marking the local copy public takes the lock itself, so it comes after.
    """
    manifest = stored.manifest
    store = local_store(config, manifest.repo_type)
    repo_id = parse_repo_id(manifest.repo_id)
    with _revision_lock(store, repo_id, manifest.revision):
        current = store.get(repo_id, manifest.revision)
        if current is None and not stored.path.is_relative_to(store.layout.base):
            current = _adopted(store, stored)
        if current is None:
            raise NotLocalizedError(manifest.repo_id, manifest.revision, manifest.repo_type)
        report = push_revision(
            cache.bucket,
            current,
            make_public=sharing.make_public,
            allow_private_public=sharing.allow_private_public,
            public_url=cache.public_url,
            progress=progress,
        )
    if sharing.make_public and not current.manifest.public:
        store.mark_public(current)
    return report


def _adopted(store: LocalStore, stored: StoredRevision) -> StoredRevision | None:
    """``stored`` (of another scope), linked into ``store``; itself when ``store`` cannot be written."""
    try:
        return store.adopt(stored)
    except OSError as exc:
        logger.warning(
            "Could not add %s to %s (%s); pushing it from where it is.", stored.path, store.layout.base, exc
        )
        return stored if stored.path.is_dir() else None


@contextmanager
def _revision_lock(store: LocalStore, repo_id: RepoId, revision: str) -> Iterator[None]:
    """The store's lock on the revision; without it when this user cannot write the store.

    A read-only store (a shared mount, say) can still be pushed: every uploaded byte is checked
    against the local metadata anyway, so a push without the lock never sends another file.
    """
    try:
        lock = store.lock(repo_id, revision)
        lock.acquire()
    except OSError as exc:
        logger.warning("Could not lock %s at %s (%s); pushing without the lock.", repo_id, revision, exc)
        yield
        return
    try:
        yield
    finally:
        lock.release()


def list_bucket_repos(config: HGLocalizationConfig, repo_type: RepoType, *, rebuild: bool = False) -> Listing:
    """What the bucket's index lists (``rebuild``: rescan the metadata objects and rewrite it)."""
    bucket_location(config)  # raises, saying what to set, without a bucket
    bucket = Bucket.from_config(config)
    if rebuild:
        from hg_localization.s3.public import write_rebuilt_public_index  # (pydantic: only here)

        listing = rebuild_entries(bucket, repo_type)
        write_rebuilt_public_index(bucket, repo_type)
        return listing
    return list_entries(bucket, repo_type, max_workers=config.max_workers)


def public_url_of(config: HGLocalizationConfig, public_url: str | None = None) -> str:
    """The URL anonymous readers use: given, configured, or derived from the bucket's location."""
    if public_url:
        return public_url.rstrip("/")
    if config.public_url:
        return config.public_url.rstrip("/")
    if config.s3_bucket_name:
        return bucket_location(config).public_url()
    raise InvalidInputError(
        "No public URL is known.",
        hint="Pass --public-url URL (the URL whoever shared the models gave you), or set HGLOC_PUBLIC_URL.",
    )


def list_public_repos(
    config: HGLocalizationConfig, repo_type: RepoType, public_url: str | None = None
) -> list[IndexEntry]:
    """The public index, read anonymously (no credentials are used even when configured)."""
    from hg_localization.s3.public import parse_public_index  # (pydantic: only this command needs it)
    from hg_localization.s3.public_reader import PublicReader  # (httpx: only this command needs it)

    reader = PublicReader(public_url_of(config, public_url))
    name = public_index_name(repo_type)
    data = reader.get_bytes(name)
    if data is None:
        raise StorageError(
            f"There is no public index at {reader.url_of(name)}.",
            hint="Check the URL; nothing may have been made public there yet "
            f"(hg-localization sync-local-{repo_type}-to-s3 ID --make-public).",
        )
    return parse_public_index(data, repo_type, where=f"at {reader.url_of(name)}").entries
