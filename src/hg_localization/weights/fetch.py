"""Per file of a weights repo: keep the copy already in the folder (proven), or download it.

A file is proven by its size and mtime being those recorded when it was last verified (unless
``verify``), else by hashing it. A download goes to ``<file>.incomplete``, is verified against
the Hub's own sums while it streams, then against the repo's ``checksums.txt``, and only then
replaces the file (``os.replace``); a download that fails or is stopped deletes its partial file.

The files are fetched in parallel by the one fetch engine
(:class:`~hg_localization.hub.fetch_pool.FetchPool`): the first failure or Ctrl-C stops queued
files from starting and running ones at their next chunk. What was proven before the stop is
kept (:meth:`WeightsFetcher.proven_so_far`), so the next run does not hash it again.
"""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path
from typing import Literal

from hg_localization.errors import IntegrityError
from hg_localization.hub.client import HubClient, RemoteFile, RemoteRevision, verify_digest
from hg_localization.hub.fetch_pool import FetchPool
from hg_localization.integrity.hashing import hash_file
from hg_localization.progress import ProgressListener
from hg_localization.store.layout import PARTIAL_SUFFIX
from hg_localization.weights.checksums import CHECKSUMS_FILENAME, Checksums, read_checksums
from hg_localization.weights.state import ProvenFile, WeightsState

#: How a file came to be proven in this run: downloaded, or already in the folder.
Outcome = tuple[Literal["fetched", "present"], ProvenFile]


class WeightsFetcher:
    """Decides per file: keep the local copy (proven) or download it (verified twice)."""

    def __init__(
        self,
        hub: HubClient,
        remote: RemoteRevision,
        target: Path,
        state: WeightsState,
        *,
        verify: bool,
        progress: ProgressListener,
    ) -> None:
        self._hub = hub
        self._remote = remote
        self._target = target
        self._state = state
        self._verify = verify
        self._progress = progress
        self._listing_partial = partial_path(target / CHECKSUMS_FILENAME)
        self._listing_kept: ProvenFile | None = None
        self.checksums: Checksums | None = None
        self.rehashed = 0
        self._lock = threading.Lock()
        #: What this run has proven so far (kept even when another file fails).
        self._proven: dict[str, Outcome] = {}
        self._pool: FetchPool | None = None

    # --- checksums.txt: read first, put in place last -------------------------------------------
    def checksums_file(self, listing: RemoteFile) -> Checksums:
        """Parse the repo's checksums.txt: the local copy when proven, else a fresh download."""
        final = self._target / CHECKSUMS_FILENAME
        source = f"{CHECKSUMS_FILENAME} of {self._remote.repo_id}"
        if final.is_file():
            self._listing_kept = self._local_copy(listing, final)
            if self._listing_kept is not None:
                return read_checksums(final, source=source)
            # another version: it stays, describing the files beside it, until the new one is placed
        self._progress.file_started(listing.path, listing.size)
        try:
            self._hub.download(
                "model", self._remote.repo_id, self._remote.commit, listing, self._listing_partial
            )
        finally:
            self._progress.file_finished(listing.path)
        return read_checksums(self._listing_partial, source=source)

    def place_checksums_file(self, listing: RemoteFile) -> Outcome:
        if self._listing_kept is not None:
            return ("present", self._listing_kept)
        final = self._target / CHECKSUMS_FILENAME
        os.replace(self._listing_partial, final)
        return ("fetched", _proven_now(final, hash_file(final).sha256, listing))

    def discard_partial_checksums_file(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._listing_partial.unlink()

    # --- every other file -----------------------------------------------------------------------

    def fetch_all(self, wanted: list[RemoteFile], workers: int) -> dict[str, Outcome]:
        self._pool = FetchPool(workers, thread_name_prefix="hgloc-w")
        outcomes = self._pool.run(wanted, self._fetch_file)
        return {remote.path: outcome for remote, outcome in zip(wanted, outcomes, strict=True)}

    def proven_so_far(self) -> dict[str, Outcome]:
        with self._lock:
            return dict(self._proven)

    def _advance(self, path: str, n_bytes: int) -> None:
        if self._pool is not None:
            self._pool.check_stop()
        self._progress.file_advanced(path, n_bytes)

    def _expected_sha256(self, remote: RemoteFile) -> str | None:
        listed = self.checksums.get(remote.path) if self.checksums else None
        return listed or remote.lfs_sha256

    def _fetch_file(self, remote: RemoteFile) -> Outcome:
        final = self._target / remote.path
        if final.is_file():
            kept = self._local_copy(remote, final)
            if kept is not None:
                return self._remember(remote.path, ("present", kept))
            # not the wanted file: it stays until the verified new one replaces it (os.replace)
        partial = partial_path(final)
        self._progress.file_started(remote.path, remote.size)
        try:
            digest = self._hub.download(
                "model",
                self._remote.repo_id,
                self._remote.commit,
                remote,
                partial,
                on_progress=lambda n: self._advance(remote.path, n),
            )
            listed = self.checksums.get(remote.path) if self.checksums else None
            if listed is not None and digest.sha256 != listed:
                raise IntegrityError(remote.path, listed, digest.sha256)
            os.replace(partial, final)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                partial.unlink()
            raise
        finally:
            self._progress.file_finished(remote.path)
        return self._remember(remote.path, ("fetched", _proven_now(final, digest.sha256, remote)))

    def _remember(self, path: str, outcome: Outcome) -> Outcome:
        with self._lock:
            self._proven[path] = outcome
        return outcome

    def _local_copy(self, remote: RemoteFile, path: Path) -> ProvenFile | None:
        """What proves that the file already there is the right one, or None."""
        if path.stat().st_size != remote.size:
            return None
        expected = self._expected_sha256(remote)
        remembered = self._state.files.get(remote.path)
        if not self._verify and remembered is not None and remembered.sums.still_describes(path):
            if expected is not None and remembered.sums.sha256 == expected:
                return remembered
            if expected is None and remembered.git_sha1 and remembered.git_sha1 == remote.git_sha1:
                return remembered
        digest = hash_file(path)
        with self._lock:
            self.rehashed += 1
        if expected is not None and digest.sha256 != expected:
            return None
        try:
            verify_digest(remote, digest)
        except IntegrityError:
            return None
        return _proven_now(path, digest.sha256, remote)


def _proven_now(path: Path, sha256: str, remote: RemoteFile) -> ProvenFile:
    return ProvenFile.now(path, sha256, "" if remote.is_lfs else remote.git_sha1)


def partial_path(path: Path) -> Path:
    """Where the download of ``path`` goes until it is verified."""
    return path.with_name(path.name + PARTIAL_SUFFIX)
