"""``download-weights``: every file of a weights repo into a folder, verified.

What the folder holds is drawn in :mod:`hg_localization.weights`.

Every file is checked twice over: against the Hub's own sums while it streams (LFS sha256 or git
blob id, in :class:`HubClient`), then against the repo's ``checksums.txt`` when it has one. A
file that fails either check is deleted; nothing that failed stays in place looking valid. A
file already there that is not the wanted one (the repo moved on) stays until its verified
replacement takes its place (``os.replace``): a download that fails or is interrupted never
leaves less than there was. The per-file work is :mod:`.fetch`'s.

A failure or Ctrl-C stops a download at once: queued files are not started, and the files being
fetched stop at their next chunk (their partial files are deleted).

A re-run trusts a file whose size and mtime are those recorded when it was last proven, and
hashes it again only with ``verify=True``.

The library never prints: progress goes to a :class:`ProgressListener`, failures are raised as
:mod:`hg_localization.errors` types whose messages follow the troubleshooting table.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

from hg_localization.config import HGLocalizationConfig
from hg_localization.errors import (
    LocalFileError,
    RepoNotFoundError,
)
from hg_localization.hub.client import HubClient, RemoteFile, RemoteRevision
from hg_localization.hub.download import check_free_space
from hg_localization.ids import RepoId, parse_repo_id, validate_repo_path, validate_revision
from hg_localization.progress import SILENT, ProgressListener
from hg_localization.weights.check import WeightsCheck as WeightsCheck
from hg_localization.weights.check import check_weights as check_weights
from hg_localization.weights.checksums import CHECKSUMS_FILENAME, Checksums, MissingFilesError
from hg_localization.weights.fetch import Outcome, WeightsFetcher, partial_path
from hg_localization.weights.state import DEFAULT_TARGET_PARENT, WeightsState, refuse_another_repo
from hg_localization.weights.state import download_command as download_command

LOCK_FILENAME = ".hg_localization_weights.lock"


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
    fetcher = WeightsFetcher(hub, remote, target, previous, verify=verify, progress=progress)
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
        else:  # keep what this run has proven, so the next run does not hash it again
            so_far = fetcher.proven_so_far()
            files = {**previous.files, **{path: proven for path, (_, proven) in so_far.items()}}
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
    needed = sum(f.size - min(_size_of(partial_path(target / f.path)) or 0, f.size) for f in missing)
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
