"""Localize one repo revision: the store first, then the team bucket, then the Hub.

The flow for a download::

    lock(repo, revision)
      complete in the store and covers the request? ── yes ─▶ (branch: one request to see if it moved)
      │ no        (or in another scope of the store,            unchanged ─▶ "already localized"
      │            or, for a commit, under another name: linked into place, then pushed)
      ▼
    staging folder (resumes an interrupted run)
      ├─ bucket has it?  fetch, verify every file's sha256 ─▶ publish
      └─ Hub: resolve the commit, list files, select, check the free space, then per file
         (usecases/revision_fetch.py):
             already verified in staging │ identical file elsewhere in the store (hard link,
             hashed before it counts) │ else stream + hash + verify, resuming a partial file
         write the metadata file last ─▶ publish (swap into place)
    push to the bucket (unless told not to), still under the lock; a failed push leaves the
    local copy complete (the order is usecases/publish.py's, for every writer of the store)

When the bucket could not be read and the Hub then fails too, the error names both causes (a
StorageError, exit 7: the bucket is what the team can repair while the Hub is away).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol

from hg_localization.errors import (
    HGLocalizationError,
    IntegrityError,
    NotLocalizedError,
    StorageError,
)
from hg_localization.hub.client import HubClient
from hg_localization.hub.download import FreeSpace, free_bytes
from hg_localization.ids import RepoId, RepoType, is_commit_sha
from hg_localization.progress import SILENT, ProgressListener
from hg_localization.store.local_store import LocalStore, StoredRevision
from hg_localization.store.manifest import RevisionManifest, Selection
from hg_localization.store.staging import Staging
from hg_localization.usecases.file_selection import nothing_to_fetch, patterns_match, select_files, trimmed_to
from hg_localization.usecases.options import LocalizeOptions
from hg_localization.usecases.publish import Publication, PushTarget, publishing

__all__ = ["LocalizeOutcome", "LocalizeRequest", "TeamCache", "localize", "select_files"]

if TYPE_CHECKING:
    from hg_localization.s3.push import PushReport
    from hg_localization.usecases.revision_fetch import RevisionFetcher

logger = logging.getLogger(__name__)

Status = Literal["fetched", "updated", "already_localized", "from_bucket"]


class TeamCache(PushTarget, Protocol):
    """The team's shared copy of the store (an S3 bucket): asked before the Hub, filled after it
    (:meth:`~hg_localization.usecases.publish.PushTarget.push`)."""

    def describe(self) -> str:
        """Where it is, for messages (never a secret)."""

    def fetch(
        self,
        manifest_key: tuple[RepoType, RepoId, str],
        selections: Sequence[Selection],
        staging: Staging,
        progress: ProgressListener,
        metadata_files: Sequence[str] = (),
        commit: str | None = None,
    ) -> RevisionManifest | None:
        """Fill ``staging`` with a complete revision covering every selection; None when there is none.

        ``metadata_files`` are the files every selection includes (a metadata-only request
        fetches just those, even when the bucket holds every file of the revision). With
        ``commit``, a copy at any other commit does not count (the branch moved upstream).
        """


@dataclass(frozen=True)
class LocalizeRequest:
    """One revision to localize: which repo, which files (``selection``, resolved from the
    options' patterns or a dataset's config), and how (``options``)."""

    repo_type: RepoType
    repo_id: RepoId
    revision: str
    selection: Selection
    #: Files that make up "metadata only" (always fetched when present; reported when missing).
    metadata_files: tuple[str, ...]
    options: LocalizeOptions = field(default_factory=LocalizeOptions)


@dataclass
class LocalizeOutcome:
    stored: StoredRevision
    status: Status
    fetched_files: int = 0
    fetched_bytes: int = 0
    reused_files: int = 0
    warnings: list[str] = field(default_factory=list)
    #: Set when the local copy is complete but the push to the bucket failed.
    upload_error: StorageError | None = None
    #: What the push to the bucket did (None: no push, or a cache that cannot be written).
    pushed: PushReport | None = None
    #: The copy came from another scope of the store (or another folder, for a commit): pushed.
    adopted: bool = False

    @property
    def missing(self) -> list[str]:
        return self.stored.manifest.missing


def localize(
    request: LocalizeRequest,
    *,
    store: LocalStore,
    hub: HubClient | None,
    bucket: TeamCache | None = None,
    max_workers: int = 8,
    progress: ProgressListener = SILENT,
    free_space: FreeSpace = free_bytes,
    others: Sequence[LocalStore] = (),
) -> LocalizeOutcome:
    """Localize ``request`` into ``store``, then push it to ``bucket`` (per the request's options).

    What it decides, under the revision's lock (1 first without it), in this order:

    1. **Already localized**: ``store`` has a complete copy covering the request, and (for a
       branch) the Hub does not say it moved since — nothing is fetched ("already_localized";
       pushed only to be made public: the bucket got it when it was localized). Unless it is to
       be made public, this is answered without taking the lock: a reader needs none.
    2. **Elsewhere in the store**: a copy covering it in one of the ``others`` (the store's
       other scopes), or, for a commit, under another revision name — hard-linked into place
       (``adopted``, and pushed: the configured bucket may not have it).
    3. **The bucket**: a complete copy at the commit the Hub points to (any commit when the Hub
       cannot say), every file's sha256 verified ("from_bucket"; not pushed back).
    4. **The Hub**: resolve, select, check the free space, fetch and verify ("fetched", or
       "updated" when an older copy was there; what it had is kept in the selection).

    ``force`` skips 1–3. A copy that is written is staged, then published atomically
    (:mod:`.publish`). The push happens before the lock is released because it reads the
    published folder: another process publishing the same revision would swap it away. A
    failed push keeps the local copy (``upload_error``). ``free_space`` tells how many bytes
    are free in a folder (a parameter for tests: the disk is checked before any file is fetched).
    """
    run = _Run(request, store, hub, bucket, max_workers, progress, free_space, others=others)
    share = request.options.share_to(bucket, progress)
    here = _already_here(run, make_public=share is not None and share.make_public)
    if here is not None:
        return here
    with publishing(store, request.repo_id, request.revision, share) as publication:
        outcome = _localize_locked(run, publication)
    outcome.pushed, outcome.upload_error = publication.pushed, publication.upload_error
    return outcome


@dataclass
class _Run:
    """One localization: what was asked, what it talks to, and what it learnt on the way."""

    request: LocalizeRequest
    store: LocalStore
    hub: HubClient | None
    bucket: TeamCache | None
    max_workers: int
    progress: ProgressListener
    free_space: FreeSpace
    others: Sequence[LocalStore] = ()
    warnings: list[str] = field(default_factory=list)
    #: Why the bucket could not be read, when it could not.
    bucket_error: HGLocalizationError | None = None
    #: What fetched the files from the Hub (None until it is asked; still None: the bucket had them).
    fetcher: RevisionFetcher | None = None
    _upstream: str | None = None
    _asked: bool = False
    _upstream_error: HGLocalizationError | None = None

    def upstream_commit(self) -> str | None:
        """Where the revision points upstream now (asked once); None when unknown or unknowable."""
        revision = self.request.revision
        if is_commit_sha(revision):
            return revision
        if self.hub is not None and not self._asked:
            self._asked = True
            try:
                self._upstream = self.hub.commit_of(self.request.repo_type, self.request.repo_id, revision)
            except HGLocalizationError as exc:
                self._upstream_error = exc
        return self._upstream


def _localize_locked(run: _Run, publication: Publication) -> LocalizeOutcome:
    request, store = run.request, run.store
    existing = store.get(request.repo_id, request.revision)
    covering = existing if existing is not None and existing.manifest.covers(request.selection) else None
    found = covering or (_elsewhere(run) if existing is None else None)
    if found is not None and not request.options.force and _still_current(run, found):
        if found is covering:
            publication.reuse(found, in_bucket=True)
            return LocalizeOutcome(stored=found, status="already_localized", warnings=run.warnings)
        try:
            linked = store.adopt(found, trimmed_to(found.manifest, request))
        except OSError as exc:  # it changed meanwhile: fetch it as if it were not there
            logger.info("Could not link %s into place (%s); fetching it.", found.path, exc)
        else:
            publication.reuse(linked, in_bucket=False)
            return LocalizeOutcome(
                stored=linked, status="already_localized", warnings=run.warnings, adopted=True
            )
    return _fill_and_publish(run, publication, existing)


def _already_here(run: _Run, *, make_public: bool) -> LocalizeOutcome | None:
    """Case 1 decided without the lock: the store's copy covers the request and is still current.

    Nothing is written or pushed then (the bucket got it when it was localized), and a revision
    enters the store by an atomic swap, so a reader without the lock sees a whole copy, the old
    one or the new one. Anything else (``force``, a push to make it public, a copy to link in or
    to fetch) takes the lock and decides again; the Hub is not asked twice.
    """
    request = run.request
    if request.options.force or make_public:
        return None
    existing = run.store.get(request.repo_id, request.revision)
    if existing is None or not existing.manifest.covers(request.selection):
        return None
    if not _still_current(run, existing):
        return None
    return LocalizeOutcome(stored=existing, status="already_localized", warnings=run.warnings)


def _elsewhere(run: _Run) -> StoredRevision | None:
    """A complete copy covering the request in another scope of the store, or (for a commit) in
    a folder of any scope at that commit."""
    request = run.request
    for other in run.others:
        found = other.get(request.repo_id, request.revision)
        if found is not None and found.manifest.covers(request.selection):
            return found
    if not is_commit_sha(request.revision):
        return None
    for candidate in (run.store, *run.others):
        at_commit = [
            s
            for s in candidate.revisions_of(request.repo_id)
            if s.manifest.commit == request.revision and s.manifest.covers(request.selection)
        ]
        if at_commit:
            return max(at_commit, key=lambda s: len(s.manifest.files))
    return None


def _still_current(run: _Run, stored: StoredRevision) -> bool:
    """True unless the Hub says the branch moved since ``stored`` was fetched (its failure: a warning)."""
    request = run.request
    if run.hub is None or is_commit_sha(request.revision):
        return True
    current = run.upstream_commit()
    if current is None and run._upstream_error is not None:
        run.warnings.append(
            f"Could not check whether '{request.revision}' moved upstream "
            f"({run._upstream_error.message}); using the local copy at commit "
            f"{stored.manifest.commit[:12]}."
        )
    return current is None or current == stored.manifest.commit


def _fill_and_publish(
    run: _Run, publication: Publication, existing: StoredRevision | None
) -> LocalizeOutcome:
    """Staged from the bucket, else from the Hub; published; what was fetched."""
    selections = _merged_selections(run.request, existing)
    stored = publication.stage(lambda staging: _fill(run, staging, selections, existing))
    manifest, fetcher = stored.manifest, run.fetcher
    if fetcher is None:  # the bucket had it
        return LocalizeOutcome(
            stored=stored,
            status="from_bucket",
            fetched_files=len(manifest.files),
            fetched_bytes=manifest.total_size,
            warnings=run.warnings,
        )
    return LocalizeOutcome(
        stored=stored,
        status="updated" if existing is not None else "fetched",
        fetched_files=fetcher.fetched_files,
        fetched_bytes=fetcher.fetched_bytes,
        reused_files=fetcher.reused_files,
        warnings=run.warnings,
    )


def _fill(
    run: _Run, staging: Staging, selections: list[Selection], existing: StoredRevision | None
) -> RevisionManifest:
    """Fill ``staging`` from the bucket when it has the revision, else from the Hub; its manifest."""
    request, hub = run.request, run.hub
    if run.bucket is not None and not request.options.force:
        manifest = _from_bucket(run, run.bucket, staging, selections)
        if manifest is not None:
            return manifest
    if hub is None:
        raise _also_bucket(run, NotLocalizedError(str(request.repo_id), request.revision, request.repo_type))
    try:
        remote = hub.resolve(request.repo_type, request.repo_id, request.revision)
    except HGLocalizationError as exc:
        if run.bucket_error is None:
            raise
        raise _also_bucket(run, exc) from exc
    wanted, missing = select_files(remote.files, selections, request.metadata_files)
    if not wanted or not patterns_match(request.selection, remote.files):
        raise nothing_to_fetch(request.repo_id, request.selection, missing)

    # Imported here: the download machinery (threads, the disk writer) is only for a fetch.
    from hg_localization.usecases.revision_fetch import RevisionFetcher

    run.fetcher = RevisionFetcher(
        run.store, hub, remote, staging, run.progress, force=request.options.force, free_space=run.free_space
    )
    records = run.fetcher.fetch_all(wanted, run.max_workers)
    return RevisionManifest(
        repo_id=str(request.repo_id),
        repo_type=request.repo_type,
        revision=request.revision,
        commit=remote.commit,
        selections=selections,
        files=sorted(records, key=lambda r: r.path),
        missing=missing,
        source="hub",
        source_url=hub.endpoint,
        public=existing.manifest.public if existing is not None else False,
        private=remote.private,
        ref_kind=None
        if is_commit_sha(request.revision)
        else hub.ref_kind(request.repo_type, request.repo_id, request.revision),
    )


def _from_bucket(
    run: _Run, bucket: TeamCache, staging: Staging, selections: Sequence[Selection]
) -> RevisionManifest | None:
    """The bucket's copy, when it covers every selection and is at the commit upstream points to.

    When the Hub cannot say where the revision points (unreachable, no token), the bucket's
    copy is taken as it is: that is what a team cache is for.
    """
    request = run.request
    try:
        return bucket.fetch(
            (request.repo_type, request.repo_id, request.revision),
            selections,
            staging,
            run.progress,
            metadata_files=request.metadata_files,
            commit=run.upstream_commit(),
        )
    except IntegrityError:
        raise
    except HGLocalizationError as exc:
        run.bucket_error = exc
        run.warnings.append(f"The team bucket ({bucket.describe()}) could not be read: {exc.message}")
        return None


def _also_bucket(run: _Run, error: HGLocalizationError) -> HGLocalizationError:
    """``error`` (the Hub's, or "not in the store"), naming the bucket's failure too when it failed."""
    bucket_error = run.bucket_error
    if bucket_error is None:
        return error
    hint = " ".join(h for h in (bucket_error.hint, error.hint) if h) or None
    if isinstance(error, NotLocalizedError):
        message = f"{error.message} The team bucket could not be read either: {bucket_error.message}"
        return StorageError(message, hint=hint)
    what = f"{run.request.repo_type} '{run.request.repo_id}' (revision '{run.request.revision}')"
    return StorageError(
        f"Neither the team bucket nor the Hub could provide the {what}. "
        f"The bucket: {bucket_error.message} The Hub: {error.message}",
        hint=hint,
    )


def _merged_selections(request: LocalizeRequest, existing: StoredRevision | None) -> list[Selection]:
    """Never shrink a localization: keep what the existing copy had, at the same or a new commit."""
    selections = [request.selection]
    if existing is not None and not request.options.force:
        selections += [s for s in existing.manifest.selections if s not in selections]
    return selections
