"""One more file of a stored revision, pulled through: fetched beside the others, then published.

The server asks for the files of a revision one at a time, and a client asks for several at
once (``snapshot_download``: 8 workers). Each is fetched on its own, so they come in parallel;
the revision's lock is only held while the folder is swapped::

    the file's own lock (across processes)  published meanwhile? done: nothing fetched
      └ stream + hash + verify into <repo>/.<revision>.pull/<name>.incomplete (a partial file of
        a killed run is resumed; a mismatch keeps nothing), renamed <name> once verified
    the revision's lock  the folder's files hard-linked + this one ─▶ publish (swap); push to the
                         bucket (its metadata object merged with other pushes')

Nothing already in the folder is hashed again (it is a complete revision, as when a revision is
adopted from another scope); the new file was hashed as it arrived. Only a folder already at the
listing's commit is added to (the card and config came through the full use case); otherwise,
and when an identical file is elsewhere in the store, :meth:`FilePuller.pull` answers None and
the caller runs the full use case (:func:`~hg_localization.usecases.localize.localize`).
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import logging
from datetime import UTC, datetime
from pathlib import Path

from filelock import FileLock

from hg_localization.errors import StorageError
from hg_localization.hub.client import HubClient, RemoteFile, RemoteRevision, require_file
from hg_localization.hub.download import check_free_space
from hg_localization.ids import RepoId, revision_folder
from hg_localization.progress import SILENT
from hg_localization.store.layout import local_names
from hg_localization.store.local_store import LocalStore, StoredRevision
from hg_localization.store.manifest import FileRecord, RevisionManifest, Selection
from hg_localization.store.staging import Staging
from hg_localization.usecases.localize import LocalizeOutcome, TeamCache

logger = logging.getLogger(__name__)

PULL_SUFFIX = ".pull"


class FilePuller:
    """Adds single files to the revisions of ``store``, fetched from ``hub`` (pushed to ``bucket``)."""

    def __init__(self, store: LocalStore, hub: HubClient, bucket: TeamCache | None) -> None:
        self.store = store
        self.hub = hub
        self.bucket = bucket

    def pull_area(self, repo_id: RepoId, folder: str) -> Staging:
        """Where files of ``folder`` arrive before they are published (hidden: never a revision)."""
        return Staging(self.store.layout.repo_dir(repo_id) / f".{revision_folder(folder)}{PULL_SUFFIX}")

    def partial_path(self, listing: RemoteRevision, folder: str, path: str) -> Path:
        """Where :meth:`pull` writes ``path`` while it arrives."""
        return self.pull_area(listing.repo_id, folder).partial_path(_local_name(listing, path))

    def pull(self, listing: RemoteRevision, folder: str, path: str) -> LocalizeOutcome | None:
        """``path`` of ``listing`` added to the store's ``folder``; None: run the full use case."""
        remote = require_file(listing, path)
        local = _local_name(listing, path)
        if not self._can_add(listing, folder, remote):
            return None
        with self._file_lock(listing.repo_id, folder, local):
            existing = self.store.get(listing.repo_id, folder)
            if _has(existing, listing.commit, path) and existing is not None:  # fetched meanwhile
                return LocalizeOutcome(stored=existing, status="already_localized")
            area = self.pull_area(listing.repo_id, folder)
            sha256, size = self._fetch(listing, remote, area, local)
            record = FileRecord(
                path=path,
                local_path=local,
                size=size,
                sha256=sha256,
                git_sha1=remote.git_sha1,
                lfs=remote.is_lfs,
            )
            return self._publish(listing, folder, record, area)

    def _can_add(self, listing: RemoteRevision, folder: str, remote: RemoteFile) -> bool:
        existing = self.store.get(listing.repo_id, folder)
        if existing is None or existing.manifest.commit != listing.commit:
            return False
        twin = self.store.content_index(listing.repo_id).find(
            remote.size, sha256=remote.lfs_sha256, git_sha1=remote.git_sha1
        )
        return twin is None  # an identical file is linked (and hashed) by the full use case

    def _file_lock(self, repo_id: RepoId, folder: str, local: str) -> FileLock:
        revision_lock = self.store.layout.lock_file(repo_id, folder)
        digest = hashlib.sha256(local.encode()).hexdigest()[:24]
        path = revision_lock.with_name(f"{revision_lock.stem}.{digest}{PULL_SUFFIX}.lock")
        path.parent.mkdir(parents=True, exist_ok=True)
        return FileLock(str(path))

    def _fetch(
        self, listing: RemoteRevision, remote: RemoteFile, area: Staging, local: str
    ) -> tuple[str, int]:
        """Stream ``remote`` into the pull area, verified; its sha256 and size."""
        partial = area.partial_path(local)
        partial.parent.mkdir(parents=True, exist_ok=True)
        kept = partial.stat().st_size if partial.is_file() else 0
        check_free_space(area.path, max(remote.size - kept, 0), 1, elsewhere="the store path")
        digest = self.hub.download(listing.repo_type, listing.repo_id, listing.commit, remote, partial)
        partial.replace(area.final_path(local))
        return digest.sha256, digest.size

    def _publish(
        self, listing: RemoteRevision, folder: str, record: FileRecord, area: Staging
    ) -> LocalizeOutcome | None:
        """The folder again with ``record`` added (under the revision's lock), pushed to the bucket."""
        repo_id, local = listing.repo_id, record.local_path
        with self.store.lock(repo_id, folder):
            staging = self.store.open_staging(repo_id, folder)
            existing = self.store.get(repo_id, folder)
            if existing is None or existing.manifest.commit != listing.commit:
                staging.discard(local)
                staging.adopt(local, area.final_path(local))  # the full use case hashes it and goes on
                area.discard(local)
                return None
            manifest = _with_file(existing.manifest, record)
            for kept in manifest.files:  # only what is linked now counts, nothing a past run left
                staging.discard(kept.local_path)
            staging.adopt(local, area.final_path(local))
            stored = self.store.adopt(existing, manifest)
            area.discard(local)
            with contextlib.suppress(OSError):
                area.path.rmdir()
            outcome = LocalizeOutcome(
                stored=stored, status="updated", fetched_files=1, fetched_bytes=record.size
            )
            self._push(outcome)  # under the lock: the push reads the folder
        return outcome

    def _push(self, outcome: LocalizeOutcome) -> None:
        if self.bucket is None:
            return
        try:
            outcome.pushed = self.bucket.push(outcome.stored, make_public=False, progress=SILENT)
        except StorageError as exc:
            outcome.upload_error = exc


def _with_file(manifest: RevisionManifest, record: FileRecord) -> RevisionManifest:
    """``manifest`` listing ``record`` too, and a selection that asks for it."""
    selection = Selection(full=True, include=(glob.escape(record.path),))
    selections = list(manifest.selections)
    if not manifest.covers(selection):
        selections.append(selection)
    files = sorted([*(f for f in manifest.files if f.path != record.path), record], key=lambda f: f.path)
    return manifest.replace(files=files, selections=selections, fetched_at=datetime.now(UTC))


def _has(stored: StoredRevision | None, commit: str, path: str) -> bool:
    """Whether ``stored`` is at ``commit`` and has ``path`` (another process published it)."""
    return stored is not None and stored.manifest.commit == commit and stored.manifest.file(path) is not None


def _local_name(listing: RemoteRevision, path: str) -> str:
    return local_names(listing.repo_type, [f.path for f in listing.files]).get(path, path)
