"""The one way a revision enters the store and the team bucket: stage, record, publish, push.

Every writer of a revision folder (a localization from the Hub or the bucket, a copy linked in
from another scope, a dataset saved from Python) goes through :func:`publishing`::

    with publishing(store, repo_id, revision, share) as publication:   # the revision lock
        ... look at the store ...
        stored = publication.stage(fill)      # open staging → fill → publish the manifest
        # (or publication.reuse(stored, in_bucket=...) when nothing is written)
    # still under the lock when the block ends: push to the bucket, then release

Why this order:

* **The push happens under the revision lock.** It reads the published folder file by file; a
  second process publishing the same revision meanwhile would swap the folder away under it.
* **The manifest is written last and swapped in atomically** (:meth:`LocalStore.publish`): a
  folder either has a complete, verified revision or is not there.
* **A failure while filling keeps only what is worth a next run.** An IntegrityError (a file
  did not match its hash) abandons the staging folder: nothing of it is trusted. Any other
  failure (the network, a full disk, Ctrl-C) keeps the files already verified, which the next
  run resumes from — unless the caller says its files are not resumable (a dataset saved from
  Python is rewritten whole each time, and a later localization of the same revision must not
  take its leftovers for verified downloads).
* **A failed push keeps the local copy.** It is complete and published; the failure is
  reported as ``upload_error`` (a StorageError), not raised: the caller asked for both, and
  the part that worked stays.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from hg_localization.errors import IntegrityError, StorageError
from hg_localization.ids import RepoId
from hg_localization.progress import SILENT, ProgressListener
from hg_localization.store.local_store import LocalStore, StoredRevision
from hg_localization.store.manifest import RevisionManifest
from hg_localization.store.staging import Staging

if TYPE_CHECKING:
    from hg_localization.s3.push import PushReport

__all__ = ["Publication", "PushTarget", "Share", "publishing"]


class PushTarget(Protocol):
    """Where a published revision is pushed (the team bucket)."""

    def push(
        self,
        stored: StoredRevision,
        *,
        make_public: bool,
        progress: ProgressListener,
        allow_private_public: bool = False,
    ) -> PushReport | None:
        """Upload a complete revision (incrementally; its metadata object last); what was done, or
        None when this target cannot be written (only a public URL).

        ``make_public`` refuses a private or gated upstream revision (AuthenticationError, before
        anything is uploaded) unless ``allow_private_public``.
        """


@dataclass(frozen=True)
class Share:
    """Where and how a published revision is pushed (no Share: it is not pushed at all)."""

    bucket: PushTarget
    make_public: bool = False
    #: Make it public even when the upstream repo is private or gated (a deliberate choice).
    allow_private_public: bool = False
    progress: ProgressListener = SILENT


class Publication:
    """One revision being written, under its lock; what is pushed when the block ends."""

    def __init__(self, store: LocalStore, repo_id: RepoId, revision: str) -> None:
        self._store, self._repo_id, self._revision = store, repo_id, revision
        self._stored: StoredRevision | None = None
        self._in_bucket = False
        #: What the push did (None: no push, or a bucket that cannot be written).
        self.pushed: PushReport | None = None
        #: Set when the local copy is complete but the push to the bucket failed.
        self.upload_error: StorageError | None = None

    def stage(self, fill: Callable[[Staging], RevisionManifest], *, resumable: bool = True) -> StoredRevision:
        """Open the staging folder, let ``fill`` write (or verify) its files and describe them, then
        publish: the manifest last, the folder swapped into place.

        ``resumable``: whether files left by a failure (other than an IntegrityError) are kept for
        the next run. A manifest that came from the bucket is not pushed back (unless made public).
        """
        staging = self._store.open_staging(self._repo_id, self._revision)
        try:
            manifest = fill(staging)
            stored = self._store.publish(staging, manifest)
        except IntegrityError:
            self._store.abandon(staging)  # a mismatch keeps nothing
            raise
        except BaseException:
            if resumable:
                self._store.tidy(staging)  # keep verified files for the next run, nothing else
            else:
                self._store.abandon(staging)
            raise
        return self.reuse(stored, in_bucket=manifest.source == "bucket")

    def reuse(self, stored: StoredRevision, *, in_bucket: bool) -> StoredRevision:
        """Take ``stored`` (already in the store) as what was published; ``in_bucket``: the bucket
        is known to have it, so it is pushed only to be made public."""
        self._stored, self._in_bucket = stored, in_bucket
        return stored

    def _push(self, share: Share) -> None:
        if self._stored is None or (self._in_bucket and not share.make_public):
            return
        try:
            self.pushed = share.bucket.push(
                self._stored,
                make_public=share.make_public,
                progress=share.progress,
                allow_private_public=share.allow_private_public,
            )
        except StorageError as exc:
            self.upload_error = exc


@contextmanager
def publishing(
    store: LocalStore, repo_id: RepoId, revision: str, share: Share | None
) -> Iterator[Publication]:
    """Hold the revision's lock for the block; when it ends without an error, push what it
    published (or reused) to ``share``'s bucket before the lock is released.

    A push failure does not raise: it is ``publication.upload_error``, the local copy kept.
    """
    with store.lock(repo_id, revision):  # the push reads the folder: same lock
        publication = Publication(store, repo_id, revision)
        yield publication
        if share is not None:
            publication._push(share)
