"""Bring a revision's files into its staging folder, each verified, by the cheapest route.

Per file::

    already in staging (an interrupted run verified it)  ─▶ hashed again; kept when it matches
    the same content elsewhere in the store (a file of   ─▶ hard-linked (or copied), hashed; kept
    another revision with the same size and sums)           when it matches, else fetched
    else streamed from the Hub into <file>.incomplete    ─▶ continues after the bytes a killed
                                                            run left there (Range), verified

Before any byte is fetched, the free space of the store is compared with what must still come
(:func:`~hg_localization.hub.download.check_free_space`). When the disk fills up anyway, what
this run put in the staging folder is removed; complete revisions are never touched.

The files are fetched in parallel by the one fetch engine (:mod:`hg_localization.hub.fetch_pool`):
the first failure or Ctrl-C stops them all, and the partial files of the stopped downloads stay
in staging for the next run to continue.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Sequence
from pathlib import Path

from hg_localization.errors import IntegrityError, LocalFileError
from hg_localization.hub.client import HubClient, RemoteFile, RemoteRevision, verify_digest
from hg_localization.hub.download import FreeSpace, check_free_space, free_bytes, is_disk_full
from hg_localization.hub.fetch_pool import FetchPool
from hg_localization.integrity.hashing import hash_file
from hg_localization.progress import ProgressListener
from hg_localization.store.layout import local_names, reserved_name_check
from hg_localization.store.local_store import LocalStore
from hg_localization.store.manifest import FileRecord
from hg_localization.store.staging import Staging

logger = logging.getLogger(__name__)

_STORE_SETTING = {"model": "HGLOC_MODELS_STORE_PATH", "dataset": "HGLOC_DATASETS_STORE_PATH"}


class RevisionFetcher:
    """Fills ``staging`` with the wanted files of ``remote``; counts what it fetched and reused."""

    def __init__(
        self,
        store: LocalStore,
        hub: HubClient,
        remote: RemoteRevision,
        staging: Staging,
        progress: ProgressListener,
        *,
        force: bool = False,
        free_space: FreeSpace = free_bytes,
    ) -> None:
        self._hub = hub
        self._remote = remote
        self._staging = staging
        self._progress = progress
        self._force = force
        self._free_space = free_space
        self._content = store.content_index(remote.repo_id)
        self._local_names = local_names(remote.repo_type, [f.path for f in remote.files])
        self._pool: FetchPool | None = None
        self._lock = threading.Lock()
        #: Files this run wrote into staging (removed again when the disk fills up).
        self._written: set[Path] = set()
        self.fetched_files = 0
        self.fetched_bytes = 0
        self.reused_files = 0

    def fetch_all(self, wanted: Sequence[RemoteFile], max_workers: int) -> list[FileRecord]:
        for remote in wanted:
            reserved_name_check(self._local_names[remote.path], str(self._remote.repo_id))
        self._check_room(wanted)
        self._pool = FetchPool(max_workers, thread_name_prefix="hgloc-fetch")
        try:
            return self._pool.run(wanted, self._fetch_file)
        except OSError as exc:  # LocalFileError included
            if is_disk_full(exc):
                raise self._disk_full(exc) from exc
            raise

    def _check_room(self, wanted: Sequence[RemoteFile]) -> None:
        """Refuse, before fetching anything, a download that the store's disk cannot hold."""
        needed = files = 0
        for remote in wanted:
            local = self._local_names[remote.path]
            if not self._force and (
                self._staging.final_path(local).is_file() or self._same_content_elsewhere(remote)
            ):
                continue
            kept = 0 if self._force else _size_of(self._staging.partial_path(local))
            needed += remote.size - (kept if kept <= remote.size else 0)
            files += 1
        if files:
            setting = _STORE_SETTING.get(self._remote.repo_type, "the store path")
            check_free_space(
                self._staging.path, needed, files, elsewhere=setting, free_space=self._free_space
            )

    def _disk_full(self, exc: BaseException) -> LocalFileError:
        """Remove what this run staged (so the next run does not start on a full disk); say so."""
        with self._lock:
            written = sorted(self._written)
        for path in written:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        cause = exc.__cause__ if isinstance(exc.__cause__, OSError) else exc
        where = getattr(cause, "filename", None) or self._staging.path
        setting = _STORE_SETTING.get(self._remote.repo_type, "the store path")
        return LocalFileError(
            f"The disk is full: {where} could not be written. The {len(written)} file(s) this run had "
            "staged were removed; complete revisions in the store were not touched.",
            hint=f"Free some space (or point {setting} at a bigger disk), then run the command again.",
        )

    def _same_content_elsewhere(self, remote: RemoteFile) -> Path | None:
        """A file of another revision in the store with ``remote``'s size and sums, or None.

        Found by the store's content index; it is hashed again before it counts.
        """
        found = self._content.find(remote.size, sha256=remote.lfs_sha256, git_sha1=remote.git_sha1)
        return found[0] if found is not None else None

    def _advance(self, path: str, n_bytes: int) -> None:
        if self._pool is not None:
            self._pool.check_stop()
        self._progress.file_advanced(path, n_bytes)

    def _wrote(self, path: Path) -> None:
        with self._lock:
            self._written.add(path)

    def _fetch_file(self, remote: RemoteFile) -> FileRecord:
        local = self._local_names[remote.path]
        final = self._staging.final_path(local)
        if self._force:
            self._staging.discard(local)  # nothing kept from before: not even a partial file
        else:
            if final.is_file():
                sha256 = _verified_sha256(remote, final)
                if sha256 is not None:
                    return self._reused(remote, local, sha256)
                self._staging.discard(local)
            reused = self._reuse_same_content(remote, local, final)
            if reused is not None:
                return reused
        return self._download(remote, local, final)

    def _reuse_same_content(self, remote: RemoteFile, local: str, final: Path) -> FileRecord | None:
        """The same content from another revision, linked (or copied) here and checked before it counts."""
        elsewhere = self._same_content_elsewhere(remote)
        if elsewhere is None:
            return None
        self._staging.adopt(local, elsewhere)
        self._wrote(final)
        sha256 = _verified_sha256(remote, final)  # a link is that file itself: this hashes it
        if sha256 is not None:
            return self._reused(remote, local, sha256)
        logger.warning(
            "%s does not match its recorded checksum: '%s' is fetched instead", elsewhere, remote.path
        )
        with contextlib.suppress(FileNotFoundError):
            final.unlink()
        return None

    def _reused(self, remote: RemoteFile, local: str, sha256: str) -> FileRecord:
        with self._lock:
            self.reused_files += 1
        return _record(remote, local, sha256)

    def _download(self, remote: RemoteFile, local: str, final: Path) -> FileRecord:
        partial = self._staging.partial_path(local)
        self._wrote(partial)
        self._progress.file_started(remote.path, remote.size)
        try:
            digest = self._hub.download(
                self._remote.repo_type,
                self._remote.repo_id,
                self._remote.commit,
                remote,
                partial,
                on_progress=lambda n: self._advance(remote.path, n),
            )
        finally:
            self._progress.file_finished(remote.path)
        partial.replace(final)
        self._wrote(final)
        with self._lock:
            self.fetched_files += 1
            self.fetched_bytes += digest.size
        return _record(remote, local, digest.sha256)


def _size_of(path: Path) -> int:
    try:
        return path.stat().st_size
    except (FileNotFoundError, NotADirectoryError):
        return 0


def _verified_sha256(remote: RemoteFile, path: Path) -> str | None:
    """The sha256 of a file already on disk, if it is the file the Hub describes."""
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
