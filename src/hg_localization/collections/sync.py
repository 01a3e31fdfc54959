"""Sync collections: localize every entry through the download use cases, N entries at a time.

Each entry goes through :func:`~hg_localization.usecases.models.localize_model` or
:func:`~hg_localization.datasets.localizing.localize_dataset`, exactly as ``download-model`` and
``download-dataset`` would (the store, the team bucket, verification, the push). A failed entry
does not stop the others: each ends as one :class:`EntryResult`, and the report says whether
all succeeded. With ``locked``, each entry is localized at the commit the lock names, and every
file the lock lists must have the locked sha256.

``lock_collections`` is a sync followed by writing the lock from what was localized.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Literal, TypeVar

from hg_localization.collections.lock import (
    LockedEntry,
    LockFile,
    locked_entry,
    read_lock,
    read_lock_if_any,
    write_lock,
)
from hg_localization.collections.manifest import Collection, CollectionsManifest, Entry
from hg_localization.config import HGLocalizationConfig
from hg_localization.datasets.localizing import localize_dataset
from hg_localization.errors import (
    HGLocalizationError,
    IntegrityError,
    InvalidInputError,
    LocalFileError,
    NotFoundError,
)
from hg_localization.ids import is_commit_sha
from hg_localization.progress import SILENT, ProgressListener
from hg_localization.store.local_store import StoredRevision
from hg_localization.usecases.localize import LocalizeOutcome
from hg_localization.usecases.models import localize_model
from hg_localization.usecases.options import LocalizeOptions
from hg_localization.usecases.repos import check_make_public

SyncStatus = Literal["fetched", "reused", "from bucket", "failed"]
DEFAULT_JOBS = 4
MAX_JOBS = 64

_STATUS: dict[str, SyncStatus] = {
    "fetched": "fetched",
    "updated": "fetched",
    "already_localized": "reused",
    "from_bucket": "from bucket",
}

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class SyncJob:
    """One entry of one collection to localize (at the locked commit, when ``locked_mode``)."""

    collection: str
    entry: Entry
    public: bool = False
    locked_mode: bool = False
    locked: LockedEntry | None = None

    @property
    def revision(self) -> str:
        return self.locked.commit if self.locked is not None else self.entry.revision


@dataclass
class EntryResult:
    job: SyncJob
    status: SyncStatus
    outcome: LocalizeOutcome | None = None
    error: HGLocalizationError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.outcome is not None and self.outcome.upload_error is None

    @property
    def problem(self) -> HGLocalizationError | None:
        """What went wrong: the error, or (the local copy complete) the failed upload."""
        if self.error is not None:
            return self.error
        return self.outcome.upload_error if self.outcome is not None else None

    @property
    def stored(self) -> StoredRevision | None:
        return self.outcome.stored if self.outcome is not None else None

    @property
    def commit(self) -> str | None:
        stored = self.stored
        return stored.manifest.commit if stored is not None else None


@dataclass
class SyncReport:
    results: list[EntryResult]

    @property
    def ok(self) -> bool:
        return all(result.ok for result in self.results)

    @property
    def failed(self) -> list[EntryResult]:
        return [result for result in self.results if not result.ok]


def make_jobs(collections: Sequence[Collection], lock: LockFile | None = None) -> list[SyncJob]:
    """One job per entry of each collection; with a lock, each job carries its locked entry."""
    return [
        SyncJob(
            collection=collection.name,
            entry=entry,
            public=collection.public,
            locked_mode=lock is not None,
            locked=lock.find(collection.name, entry) if lock is not None else None,
        )
        for collection in collections
        for entry in collection.entries
    ]


def sync_collections(
    config: HGLocalizationConfig,
    manifest: CollectionsManifest,
    names: Sequence[str] = (),
    *,
    jobs: int = DEFAULT_JOBS,
    locked: bool = False,
    progress: ProgressListener = SILENT,
    on_result: Callable[[EntryResult], None] | None = None,
) -> SyncReport:
    """Localize every entry of the named collections (all when none is named), ``jobs`` at a time."""
    collections = manifest.select(names)
    if any(collection.public for collection in collections):
        check_make_public(config, LocalizeOptions(make_public=True))  # refused before anything is fetched
    lock = read_lock(manifest.lock_path) if locked else None
    work = make_jobs(collections, lock)
    results = run_each(work, lambda job: sync_one(config, job, progress), jobs, on_result)
    return SyncReport(results)


def lock_collections(
    config: HGLocalizationConfig,
    manifest: CollectionsManifest,
    names: Sequence[str] = (),
    *,
    jobs: int = DEFAULT_JOBS,
    progress: ProgressListener = SILENT,
    on_result: Callable[[EntryResult], None] | None = None,
) -> tuple[SyncReport, LockFile | None]:
    """Localize every entry, then pin what was localized in the lock (written only when every
    entry has a local copy; other collections' entries in the lock are kept)."""
    existing = read_lock_if_any(manifest.lock_path)
    report = sync_collections(config, manifest, names, jobs=jobs, progress=progress, on_result=on_result)
    if any(result.stored is None for result in report.results):
        return report, None
    pinned = [
        locked_entry(result.job.collection, result.job.entry, result.stored)
        for result in report.results
        if result.stored is not None
    ]
    lock = (existing or LockFile()).updated(pinned, manifest)
    write_lock(manifest.lock_path, lock)
    return report, lock


def sync_one(config: HGLocalizationConfig, job: SyncJob, progress: ProgressListener) -> EntryResult:
    """One entry, localized; every failure the user can fix becomes a failed result. Anything else
    is a bug: it propagates (cancelling the entries not started) to the one "Unexpected error"
    presenter, like Ctrl-C."""
    try:
        revision = job.entry.revision
        prefix = f"{job.entry.repo_id}@{revision[:12] if is_commit_sha(revision) else revision}"
        outcome = _localize(config, job, PrefixedProgress(progress, prefix))
    except HGLocalizationError as exc:
        return EntryResult(job, "failed", error=exc)
    except OSError as exc:
        return EntryResult(job, "failed", error=LocalFileError.from_os_error(exc, action="read or write"))
    return EntryResult(job, _STATUS.get(outcome.status, "fetched"), outcome=outcome)


def _localize(config: HGLocalizationConfig, job: SyncJob, progress: ProgressListener) -> LocalizeOutcome:
    entry = job.entry
    if job.locked_mode:
        check_lockable(job)
    options = LocalizeOptions(
        full=entry.full, include=entry.include, exclude=entry.exclude, make_public=job.public
    )
    if entry.repo_type == "model":
        outcome = localize_model(entry.repo_id, job.revision, options, config=config, progress=progress)
    else:
        outcome = localize_dataset(
            entry.repo_id, job.revision, options, config=config, config_name=entry.name, progress=progress
        )
    if job.locked is not None:
        check_locked_files(job.locked, outcome.stored)
    return outcome


def check_lockable(job: SyncJob) -> None:
    label = f"{job.entry.repo_type} {job.entry.label} (collection {job.collection})"
    if job.locked is None:
        raise NotFoundError(f"The lock has no entry for {label}.", hint="Pin it with: hg-localization lock")
    if not job.locked.matches(job.entry):
        raise InvalidInputError(
            f"The manifest changed what {label} selects since the lock was written.",
            hint="Pin it again with: hg-localization lock",
        )


def check_locked_files(locked: LockedEntry, stored: StoredRevision) -> None:
    """Every file the lock lists is in ``stored``, at the locked commit, with the locked sha256."""
    manifest = stored.manifest
    if manifest.commit != locked.commit:
        raise IntegrityError(f"{locked.repo_id} (commit)", locked.commit, manifest.commit, algorithm="commit")
    for pinned in locked.files:
        record = manifest.file(pinned.path)
        if record is None:
            raise NotFoundError(
                f"The lock lists '{pinned.path}' of {locked.label}, and commit {locked.commit[:12]} "
                "has no such file.",
                hint="The lock does not match its upstream; write it again with: hg-localization lock",
            )
        if (record.sha256, record.size) != (pinned.sha256, pinned.size):
            raise IntegrityError(f"{locked.repo_id}/{pinned.path}", pinned.sha256, record.sha256)


def run_each(
    items: Sequence[T], work: Callable[[T], R], jobs: int, on_done: Callable[[R], None] | None = None
) -> list[R]:
    """``work(item)`` for every item, at most ``jobs`` at a time; results in the items' order.

    ``work`` turns its own failures into results. Ctrl-C cancels what has not started.
    """
    if not 1 <= jobs <= MAX_JOBS:
        raise InvalidInputError(f"--jobs must be between 1 and {MAX_JOBS}, not {jobs}.")
    results: dict[int, R] = {}
    with ThreadPoolExecutor(max_workers=min(jobs, max(len(items), 1))) as pool:
        pending: dict[Future[R], int] = {pool.submit(work, item): i for i, item in enumerate(items)}
        try:
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    index = pending.pop(future)
                    results[index] = future.result()
                    if on_done is not None:
                        on_done(results[index])
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    return [results[i] for i in range(len(items))]


def failure_error(failed: Sequence[EntryResult], total: int) -> HGLocalizationError:
    """One error for a run with failed entries: their exit code when they agree, else 1."""
    codes = {result.problem.exit_code for result in failed if result.problem is not None}
    error = HGLocalizationError(
        f"{len(failed)} of {total} entries failed: "
        + ", ".join(f"{r.job.entry.label} ({r.job.collection})" for r in failed[:5])
        + (", …" if len(failed) > 5 else "")
        + ".",
        hint="The table above says why; the other entries are localized. Run the command again to retry.",
    )
    error.exit_code = codes.pop() if len(codes) == 1 else 1
    return error


class PrefixedProgress(ProgressListener):
    """Forwards transfer events with the entry in front of each path, so one display shows all."""

    def __init__(self, inner: ProgressListener, prefix: str) -> None:
        self._inner = inner
        self._prefix = prefix

    def file_started(self, path: str, size: int) -> None:
        self._inner.file_started(f"{self._prefix}: {path}", size)

    def upload_started(self, path: str, size: int) -> None:
        self._inner.upload_started(f"{self._prefix}: {path}", size)

    def file_advanced(self, path: str, n_bytes: int) -> None:
        self._inner.file_advanced(f"{self._prefix}: {path}", n_bytes)

    def file_finished(self, path: str) -> None:
        self._inner.file_finished(f"{self._prefix}: {path}")
