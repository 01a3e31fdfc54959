"""Weight repos: download one, verified, into a folder (checked offline by :mod:`weights_check`).

A weights folder (``models/<repo name>`` by default)::

    <target>/
      <every file of the repo>          downloaded to <file>.incomplete, verified, then renamed
      checksums.txt                     the repo's own, when it has one; put in place last
      .hg_localization_weights.json     what was proven: repo, revision, commit, each file's sums
      .hg_localization_weights.lock     held while a download runs

Every file is checked twice over: against the Hub's own sums while it streams (LFS sha256 or git
blob id, in :class:`HubClient`), then against the repo's ``checksums.txt`` when it has one. A
file that fails either check is deleted; nothing that failed stays in place looking valid. A
file already there that is not the wanted one (the repo moved on) stays until its verified
replacement takes its place (``os.replace``): a download that fails or is interrupted never
leaves less than there was.

Ctrl-C stops a download at once: queued files are not started, and the files being fetched
stop at their next chunk (their partial files are deleted).

A re-run trusts a file whose size and mtime are those recorded when it was last proven, and
hashes it again only with ``verify=True``.

The library never prints: progress goes to a :class:`ProgressListener`, failures are raised as
:mod:`hg_localization.errors` types whose messages follow the troubleshooting table.
"""

from __future__ import annotations

import contextlib
import os
import threading
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from filelock import FileLock

from hg_localization.config import HGLocalizationConfig
from hg_localization.errors import (
    IntegrityError,
    LocalFileError,
    RepoNotFoundError,
)
from hg_localization.hub.client import HubClient, RemoteFile, RemoteRevision, verify_digest
from hg_localization.hub.download import check_free_space
from hg_localization.ids import RepoId, parse_repo_id, validate_repo_path, validate_revision
from hg_localization.integrity.checksums import (
    CHECKSUMS_FILENAME,
    Checksums,
    FileSum,
    MissingFilesError,
    read_checksums,
)
from hg_localization.integrity.hashing import hash_file
from hg_localization.store.layout import PARTIAL_SUFFIX
from hg_localization.usecases.progress import SILENT, ProgressListener
from hg_localization.usecases.weights_check import WeightsCheck as WeightsCheck
from hg_localization.usecases.weights_check import check_weights as check_weights
from hg_localization.usecases.weights_state import (
    DEFAULT_TARGET_PARENT,
    Proven,
    WeightsState,
    refuse_another_repo,
)
from hg_localization.usecases.weights_state import download_command as download_command

LOCK_FILENAME = ".hg_localization_weights.lock"
#: After Ctrl-C, how long the downloads already running get to stop (they stop at their next chunk).
ABORT_GRACE_SECONDS = 2.0


class _Aborted(BaseException):
    """Raised in a download thread after Ctrl-C. A BaseException, like KeyboardInterrupt, so that
    no ``except Exception`` on the way reports it as a failed download."""


def default_target_dir(repo_id: str | RepoId) -> Path:
    """``models/<repo name>``, relative to the working directory."""
    parsed = repo_id if isinstance(repo_id, RepoId) else parse_repo_id(repo_id)
    return DEFAULT_TARGET_PARENT / parsed.name


# --- download ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class WeightsDownload:
    repo_id: str
    revision: str
    commit: str
    target_dir: Path
    downloaded: tuple[str, ...]
    already_present: tuple[str, ...]
    bytes_downloaded: int
    checksums_verified: bool
    rehashed: int


def download_weights(
    config: HGLocalizationConfig,
    *,
    repo_id: str | None = None,
    target_dir: Path | None = None,
    revision: str = "main",
    verify: bool = False,
    progress: ProgressListener = SILENT,
    hub: HubClient | None = None,
) -> WeightsDownload:
    """Bring every file of a weights repo into ``target_dir``, verified; skip what is already there."""
    rid = parse_repo_id(repo_id or config.weights_repo_id)
    rev = validate_revision(revision)
    target = target_dir if target_dir is not None else default_target_dir(rid)
    refuse_another_repo(target, WeightsState.load(target), rid)
    hub = hub or HubClient(config.hf_endpoint, config.token, timeout=config.download_timeout)
    remote = _resolve(hub, rid, rev)
    lock = FileLock(str(target / LOCK_FILENAME))
    try:
        target.mkdir(parents=True, exist_ok=True)
        lock.acquire()
    except OSError as exc:  # a local file problem: exit 8
        raise LocalFileError(
            f"Cannot write into the weights folder {target}: {exc.strerror or exc}.",
            hint="Choose a writable folder with --target-dir (a read-only mount must already hold "
            "the verified weights).",
        ) from exc
    try:
        return _download_locked(
            hub, remote, target, verify=verify, progress=progress, workers=config.max_workers
        )
    finally:
        lock.release()


def _resolve(hub: HubClient, rid: RepoId, revision: str) -> RemoteRevision:
    try:
        remote = hub.resolve("model", rid, revision)
    except RepoNotFoundError:
        raise RepoNotFoundError(
            str(rid),
            hint="Check the id given with --repo-id (default: HGLOC_WEIGHTS_REPO_ID). A private repo "
            "also looks missing without a token: set HUGGING_FACE_HUB_TOKEN (or HF_TOKEN).",
        ) from None
    for remote_file in remote.files:  # the server is not trusted with our filesystem
        validate_repo_path(remote_file.path)
    return remote


def _download_locked(
    hub: HubClient,
    remote: RemoteRevision,
    target: Path,
    *,
    verify: bool,
    progress: ProgressListener,
    workers: int,
) -> WeightsDownload:
    previous = WeightsState.load(target)
    fetcher = _Fetcher(hub, remote, target, previous, verify=verify, progress=progress)
    listing = remote.file(CHECKSUMS_FILENAME)
    outcomes: dict[str, Outcome] = {}
    finished = False
    try:
        if listing is not None:
            fetcher.checksums = fetcher.checksums_file(listing)
            _require_listed(fetcher.checksums, remote)
        wanted = [f for f in remote.files if f.path != CHECKSUMS_FILENAME]
        _check_room(target, wanted)
        outcomes = fetcher.fetch_all(wanted, workers)
        if listing is not None:
            outcomes[CHECKSUMS_FILENAME] = fetcher.place_checksums_file(listing)
        finished = True
    finally:
        fetcher.discard_partial_checksums_file()
        if finished:
            files = {path: proven for path, (_, proven) in outcomes.items()}
        else:  # keep what this run proved, so the next run does not hash it again
            proven_now = fetcher.proven_so_far()
            files = {**previous.files, **{path: proven for path, (_, proven) in proven_now.items()}}
        record = WeightsState(
            str(remote.repo_id), remote.commit, files, complete=finished, revision=remote.revision
        )
        record.save(target)
    fetched = tuple(sorted(p for p, (how, _) in outcomes.items() if how == "fetched"))
    return WeightsDownload(
        repo_id=str(remote.repo_id),
        revision=remote.revision,
        commit=remote.commit,
        target_dir=target,
        downloaded=fetched,
        already_present=tuple(sorted(p for p, (how, _) in outcomes.items() if how == "present")),
        bytes_downloaded=sum(outcomes[p][1].sums.size for p in fetched),
        checksums_verified=listing is not None,
        rehashed=fetcher.rehashed,
    )


def _check_room(target: Path, wanted: list[RemoteFile]) -> None:
    """Refuse, before fetching anything, weights that the disk clearly cannot hold."""
    missing = [f for f in wanted if _size_of(target / f.path) != f.size]
    needed = sum(f.size - min(_size_of(_partial(target / f.path)) or 0, f.size) for f in missing)
    if missing:
        check_free_space(target, needed, len(missing), elsewhere="--target-dir")


def _size_of(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except OSError:
        return None


def _require_listed(checksums: Checksums, remote: RemoteRevision) -> None:
    missing = [p for p in checksums if p != CHECKSUMS_FILENAME and remote.file(p) is None]
    if missing:
        raise MissingFilesError(
            missing,
            f"'{remote.repo_id}' at {remote.commit[:12]}",
            hint="The repository is incomplete: upload the missing files, or fix its checksums.txt.",
        )


Outcome = tuple[Literal["fetched", "present"], Proven]


class _Fetcher:
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
        self._listing_partial = _partial(target / CHECKSUMS_FILENAME)
        self._listing_kept: Proven | None = None
        self.checksums: Checksums | None = None
        self.rehashed = 0
        self._count_lock = threading.Lock()
        #: What has been proven so far (kept even when another file fails).
        self.done: dict[str, Outcome] = {}
        #: Set on Ctrl-C: the download threads stop at their next chunk.
        self._aborted = threading.Event()

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
        return ("fetched", _proven(final, hash_file(final).sha256, listing))

    def discard_partial_checksums_file(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._listing_partial.unlink()

    # --- every other file -----------------------------------------------------------------------

    def fetch_all(self, wanted: list[RemoteFile], workers: int) -> dict[str, Outcome]:
        if not wanted:
            return {}
        pool = ThreadPoolExecutor(max_workers=min(workers, len(wanted)), thread_name_prefix="hgloc-w")
        futures: dict[str, Future[Outcome]] = {}
        try:
            for remote in wanted:
                futures[remote.path] = pool.submit(self._one, remote)
            done, pending = wait(futures.values(), return_when=FIRST_EXCEPTION)
            for future in pending:
                future.cancel()
            pool.shutdown(wait=True)  # the files being fetched when one failed finish, and are kept
        except BaseException:  # Ctrl-C: stop now, not after every queued file
            self._abort(pool, list(futures.values()))
            raise
        errors = [e for e in (f.exception() for f in done) if e is not None]
        if errors:
            integrity = [e for e in errors if isinstance(e, IntegrityError)]
            raise (integrity or errors)[0]
        return {path: future.result() for path, future in futures.items()}

    def _abort(self, pool: ThreadPoolExecutor, futures: list[Future[Outcome]]) -> None:
        """Queued files never start; running downloads stop at their next chunk (waited for, briefly,
        so that their partial files are gone before the folder's lock is released)."""
        self._aborted.set()
        pool.shutdown(wait=False, cancel_futures=True)
        wait([f for f in futures if not f.cancelled()], timeout=ABORT_GRACE_SECONDS)

    def proven_so_far(self) -> dict[str, Outcome]:
        with self._count_lock:
            return dict(self.done)

    def _check_aborted(self) -> None:
        if self._aborted.is_set():
            raise _Aborted

    def _advance(self, path: str, n_bytes: int) -> None:
        self._check_aborted()
        self._progress.file_advanced(path, n_bytes)

    def _expected_sha256(self, remote: RemoteFile) -> str | None:
        listed = self.checksums.get(remote.path) if self.checksums else None
        return listed or remote.lfs_sha256

    def _one(self, remote: RemoteFile) -> Outcome:
        self._check_aborted()
        final = self._target / remote.path
        if final.is_file():
            kept = self._local_copy(remote, final)
            if kept is not None:
                return self._proved(remote.path, ("present", kept))
            # not the wanted file: it stays until the verified new one replaces it (os.replace)
        partial = _partial(final)
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
        return self._proved(remote.path, ("fetched", _proven(final, digest.sha256, remote)))

    def _proved(self, path: str, outcome: Outcome) -> Outcome:
        with self._count_lock:
            self.done[path] = outcome
        return outcome

    def _local_copy(self, remote: RemoteFile, path: Path) -> Proven | None:
        """The proof that the file already there is the right one, or None."""
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
        with self._count_lock:
            self.rehashed += 1
        if expected is not None and digest.sha256 != expected:
            return None
        try:
            verify_digest(remote, digest)
        except IntegrityError:
            return None
        return _proven(path, digest.sha256, remote)


def _proven(path: Path, sha256: str, remote: RemoteFile) -> Proven:
    stat = path.stat()
    return Proven(FileSum(stat.st_size, stat.st_mtime_ns, sha256), "" if remote.is_lfs else remote.git_sha1)


def _partial(path: Path) -> Path:
    return path.with_name(path.name + PARTIAL_SUFFIX)
