"""Localize one repo revision: the store first, then the team bucket, then the Hub.

The flow for a download::

    lock(repo, revision)
      complete in the store and covers the request? ── yes ─▶ (branch: one request to see if it moved)
      │ no                                                      unchanged ─▶ "already localized"
      ▼
    staging folder (resumes an interrupted run)
      ├─ bucket has it?  fetch, verify every file's sha256 ─▶ publish
      └─ Hub: resolve the commit, list files, select, then per file:
             already verified in staging │ identical file elsewhere in the store (hard link)
             │ else stream + hash + verify
         write the metadata file last ─▶ publish (swap into place)
    push to the bucket (unless told not to); a failed push leaves the local copy complete
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

from huggingface_hub.utils import filter_repo_objects

from hg_localization.errors import (
    HGLocalizationError,
    IntegrityError,
    InvalidInputError,
    NotLocalizedError,
    StorageError,
)
from hg_localization.hub.client import HubClient, RemoteFile, RemoteRevision, verify_digest
from hg_localization.ids import RepoId, RepoType, is_commit_sha
from hg_localization.integrity.hashing import hash_file
from hg_localization.store.layout import local_name_for
from hg_localization.store.local_store import LocalStore, Staging, StoredRevision
from hg_localization.store.manifest import FileRecord, RevisionManifest, Selection
from hg_localization.usecases.progress import SILENT, ProgressListener

logger = logging.getLogger(__name__)

Status = Literal["fetched", "updated", "already_localized", "from_bucket"]


class TeamCache(Protocol):
    """The team's shared copy of the store (an S3 bucket): asked before the Hub, filled after it."""

    def describe(self) -> str:
        """Where it is, for messages (never a secret)."""

    def fetch(
        self,
        manifest_key: tuple[RepoType, RepoId, str],
        selection: Selection,
        staging: Staging,
        progress: ProgressListener,
        metadata_files: Sequence[str] = (),
    ) -> RevisionManifest | None:
        """Fill ``staging`` with a complete revision covering ``selection``; None when there is none.

        ``metadata_files`` are the files every selection includes (a metadata-only request
        fetches just those, even when the bucket holds every file of the revision).
        """

    def push(self, stored: StoredRevision, *, make_public: bool, progress: ProgressListener) -> None:
        """Upload a complete revision (incrementally; its metadata object last)."""


@dataclass(frozen=True)
class LocalizeRequest:
    repo_type: RepoType
    repo_id: RepoId
    revision: str
    selection: Selection
    #: Files that make up "metadata only" (always fetched when present; reported when missing).
    metadata_files: tuple[str, ...]
    force: bool = False
    allow_hub: bool = True
    push: bool = True
    make_public: bool = False


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
) -> LocalizeOutcome:
    with store.lock(request.repo_id, request.revision):
        outcome = _localize_locked(request, store, hub, bucket, max_workers, progress)
    if bucket is not None and request.push and (outcome.status != "from_bucket" or request.make_public):
        needs_push = outcome.status in ("fetched", "updated") or request.make_public
        if needs_push:
            try:
                bucket.push(outcome.stored, make_public=request.make_public, progress=progress)
            except StorageError as exc:
                outcome.upload_error = exc
    return outcome


def _localize_locked(
    request: LocalizeRequest,
    store: LocalStore,
    hub: HubClient | None,
    bucket: TeamCache | None,
    max_workers: int,
    progress: ProgressListener,
) -> LocalizeOutcome:
    existing = store.get(request.repo_id, request.revision)
    warnings: list[str] = []
    if existing is not None and not request.force and existing.manifest.covers(request.selection):
        current = _upstream_commit(request, existing, hub, warnings)
        if current is None or current == existing.manifest.commit:
            return LocalizeOutcome(stored=existing, status="already_localized", warnings=warnings)

    staging = store.open_staging(request.repo_id, request.revision)
    try:
        return _fill_and_publish(
            request, store, hub, bucket, max_workers, progress, staging, existing, warnings
        )
    except IntegrityError:
        store.abandon(staging)  # a mismatch keeps nothing
        raise
    except BaseException:
        store.tidy(staging)  # keep verified files for the next run, nothing else
        raise


def _fill_and_publish(
    request: LocalizeRequest,
    store: LocalStore,
    hub: HubClient | None,
    bucket: TeamCache | None,
    max_workers: int,
    progress: ProgressListener,
    staging: Staging,
    existing: StoredRevision | None,
    warnings: list[str],
) -> LocalizeOutcome:
    if bucket is not None and not request.force:
        manifest = _from_bucket(request, bucket, staging, progress, warnings)
        if manifest is not None:
            stored = store.publish(staging, manifest)
            return LocalizeOutcome(
                stored=stored,
                status="from_bucket",
                fetched_files=len(manifest.files),
                fetched_bytes=manifest.total_size,
                warnings=warnings,
            )
    if hub is None:
        raise NotLocalizedError(str(request.repo_id), request.revision, request.repo_type)

    remote = hub.resolve(request.repo_type, request.repo_id, request.revision)
    selections = _merged_selections(request, existing, remote.commit)
    wanted, missing = select_files(remote.files, selections, request.metadata_files)
    if not wanted or not _patterns_match(request.selection, remote.files):
        raise _nothing_to_fetch(request, missing)

    fetcher = _Fetcher(request, store, hub, remote, staging, progress)
    records = fetcher.fetch_all(wanted, max_workers)
    manifest = RevisionManifest(
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
    )
    stored = store.publish(staging, manifest)
    return LocalizeOutcome(
        stored=stored,
        status="updated" if existing is not None else "fetched",
        fetched_files=fetcher.fetched_files,
        fetched_bytes=fetcher.fetched_bytes,
        reused_files=fetcher.reused_files,
        warnings=warnings,
    )


def _upstream_commit(
    request: LocalizeRequest, existing: StoredRevision, hub: HubClient | None, warnings: list[str]
) -> str | None:
    """The commit a branch or tag points at now, or None when there is no need (or way) to ask."""
    if is_commit_sha(request.revision) or hub is None:
        return None
    try:
        return hub.commit_of(request.repo_type, request.repo_id, request.revision)
    except HGLocalizationError as exc:
        warnings.append(
            f"Could not check whether '{request.revision}' moved upstream ({exc.message}); "
            f"using the local copy at commit {existing.manifest.commit[:12]}."
        )
        return None


def _from_bucket(
    request: LocalizeRequest,
    bucket: TeamCache,
    staging: Staging,
    progress: ProgressListener,
    warnings: list[str],
) -> RevisionManifest | None:
    try:
        return bucket.fetch(
            (request.repo_type, request.repo_id, request.revision),
            request.selection,
            staging,
            progress,
            metadata_files=request.metadata_files,
        )
    except IntegrityError:
        raise
    except HGLocalizationError as exc:
        warnings.append(f"The team bucket ({bucket.describe()}) could not be read: {exc.message}")
        return None


def _merged_selections(
    request: LocalizeRequest, existing: StoredRevision | None, commit: str
) -> list[Selection]:
    """Never shrink a localization: keep what the existing copy had, at the same or a new commit."""
    selections = [request.selection]
    if existing is not None and not request.force:
        selections += [s for s in existing.manifest.selections if s not in selections]
    return selections


def select_files(
    files: Sequence[RemoteFile], selections: Sequence[Selection], metadata_files: Sequence[str]
) -> tuple[list[RemoteFile], list[str]]:
    """The files the selections ask for, and the metadata files the repo does not have."""
    by_path = {f.path: f for f in files}
    chosen: dict[str, RemoteFile] = {p: by_path[p] for p in metadata_files if p in by_path}
    for selection in selections:
        if not selection.full:
            continue
        matched = filter_repo_objects(
            list(by_path),
            allow_patterns=list(selection.include) or None,
            ignore_patterns=list(selection.exclude) or None,
        )
        chosen.update({p: by_path[p] for p in matched})
    missing = [p for p in metadata_files if p not in by_path]
    return sorted(chosen.values(), key=lambda f: f.path), missing


def _patterns_match(selection: Selection, files: Sequence[RemoteFile]) -> bool:
    """False when --include/--exclude were given and select no file at all."""
    if not selection.full or not (selection.include or selection.exclude):
        return True
    matched = filter_repo_objects(
        [f.path for f in files],
        allow_patterns=list(selection.include) or None,
        ignore_patterns=list(selection.exclude) or None,
    )
    return any(True for _ in matched)


def _nothing_to_fetch(request: LocalizeRequest, missing: list[str]) -> HGLocalizationError:
    if request.selection.full and (request.selection.include or request.selection.exclude):
        return InvalidInputError(
            f"No file of '{request.repo_id}' matches the --include/--exclude patterns.",
            hint="Check the patterns (they match whole repo paths, e.g. '*.safetensors').",
        )
    what = " and ".join(missing) or "any file"
    return InvalidInputError(
        f"'{request.repo_id}' has no {what}: nothing was localized.",
        hint="Use --full-model to fetch every file of the repository.",
    )


class _Fetcher:
    """Brings each wanted file into the staging folder, verified, by the cheapest route."""

    def __init__(
        self,
        request: LocalizeRequest,
        store: LocalStore,
        hub: HubClient,
        remote: RemoteRevision,
        staging: Staging,
        progress: ProgressListener,
    ) -> None:
        self._request = request
        self._store = store
        self._hub = hub
        self._remote = remote
        self._staging = staging
        self._progress = progress
        self._content = store.content_index(request.repo_id)
        self.fetched_files = 0
        self.fetched_bytes = 0
        self.reused_files = 0

    def fetch_all(self, wanted: Sequence[RemoteFile], max_workers: int) -> list[FileRecord]:
        with ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="hgloc-fetch") as pool:
            futures: list[Future[FileRecord]] = [pool.submit(self._fetch_one, f) for f in wanted]
            done, pending = wait(futures, return_when=FIRST_EXCEPTION)
            for future in pending:
                future.cancel()
            errors = [f.exception() for f in done if f.exception() is not None]
            if errors:
                integrity = [e for e in errors if isinstance(e, IntegrityError)]
                raise (integrity or errors)[0]  # type: ignore[misc]
            return [f.result() for f in futures]

    def _fetch_one(self, remote: RemoteFile) -> FileRecord:
        local = local_name_for(self._request.repo_type, remote.path)
        final = self._staging.final_path(local)
        if not self._request.force:
            if final.is_file():
                sha256 = _verified_sha256(remote, final)
                if sha256 is not None:
                    self.reused_files += 1
                    return _record(remote, local, sha256)
                self._staging.discard(local)
            twin = self._content.find(remote.size, sha256=remote.lfs_sha256, git_sha1=remote.git_sha1)
            if twin is not None:
                self._staging.adopt(local, twin[0])
                self.reused_files += 1
                return _record(remote, local, twin[1].sha256)
        partial = self._staging.partial_path(local)
        self._progress.file_started(remote.path, remote.size)
        try:
            digest = self._hub.download(
                self._request.repo_type,
                self._request.repo_id,
                self._remote.commit,
                remote,
                partial,
                on_progress=lambda n: self._progress.file_advanced(remote.path, n),
            )
        finally:
            self._progress.file_finished(remote.path)
        partial.replace(final)
        self.fetched_files += 1
        self.fetched_bytes += digest.size
        return _record(remote, local, digest.sha256)


def _verified_sha256(remote: RemoteFile, path: Path) -> str | None:
    """The sha256 of a file an interrupted run left in staging, if it is the right file."""
    if path.stat().st_size != remote.size:
        return None
    digest = hash_file(path)
    try:
        verify_digest(remote, digest)
    except IntegrityError:
        return None
    return digest.sha256


def _record(remote: RemoteFile, local_path: str, sha256: str) -> FileRecord:
    return FileRecord(
        path=remote.path,
        local_path=local_path,
        size=remote.size,
        sha256=sha256,
        git_sha1=remote.git_sha1,
        lfs=remote.is_lfs,
    )
