"""What a sync would fetch (``sync --dry-run``): the Hub is asked for listings, nothing is fetched.

For each entry: the commit its revision points at (or the locked one), the files it selects (by
the download's own rules, :mod:`.selection`), and of those the ones the store lacks: not in the
entry's revision folder at that commit, and not elsewhere in the store with the same content
(a download would link those). Whether the team bucket has them is not asked: the bytes are
what would come from the bucket or the Hub.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from hg_localization.collections.lock import read_lock
from hg_localization.collections.manifest import CollectionsManifest
from hg_localization.collections.selection import select_remote
from hg_localization.collections.sync import DEFAULT_JOBS, SyncJob, check_lockable, make_jobs, run_each
from hg_localization.config import HGLocalizationConfig
from hg_localization.datasets.configs import CARD_FILENAME
from hg_localization.errors import HGLocalizationError, LocalFileError
from hg_localization.hub.client import HubClient, RemoteFile, RemoteRevision
from hg_localization.ids import parse_repo_id
from hg_localization.store.local_store import LocalStore
from hg_localization.store.staging import ContentIndex
from hg_localization.usecases.repos import hub_client, local_store


@dataclass(frozen=True)
class PlannedEntry:
    job: SyncJob
    commit: str | None = None
    #: The files the entry selects at that commit, and their bytes.
    files: int = 0
    size: int = 0
    #: Of those, what the store lacks (what a sync would fetch).
    to_fetch: tuple[RemoteFile, ...] = ()
    error: HGLocalizationError | None = None

    @property
    def fetch_bytes(self) -> int:
        return sum(f.size for f in self.to_fetch)


def plan_collections(
    config: HGLocalizationConfig,
    manifest: CollectionsManifest,
    names: Sequence[str] = (),
    *,
    jobs: int = DEFAULT_JOBS,
    locked: bool = False,
    on_result: Callable[[PlannedEntry], None] | None = None,
) -> list[PlannedEntry]:
    """What ``sync`` with the same arguments would fetch, entry by entry; nothing is written."""
    lock = read_lock(manifest.lock_path) if locked else None
    work = make_jobs(manifest.select(names), lock)
    hub = hub_client(config)
    return run_each(work, lambda job: plan_one(config, hub, job), jobs, on_result)


def plan_one(config: HGLocalizationConfig, hub: HubClient, job: SyncJob) -> PlannedEntry:
    entry = job.entry
    try:
        if job.locked_mode:
            check_lockable(job)
        repo_id = parse_repo_id(entry.repo_id)
        remote = hub.resolve(entry.repo_type, repo_id, job.revision)
        card = _card_text(hub, remote) if entry.name is not None else None
        wanted, _ = select_remote(entry, remote.files, card)
        store = local_store(config, entry.repo_type)
        missing = _missing_from_store(store, job, remote, wanted)
    except HGLocalizationError as exc:
        return PlannedEntry(job, error=exc)
    except OSError as exc:
        return PlannedEntry(job, error=LocalFileError.from_os_error(exc, action="read"))
    return PlannedEntry(
        job,
        commit=remote.commit,
        files=len(wanted),
        size=sum(f.size for f in wanted),
        to_fetch=tuple(missing),
    )


def _card_text(hub: HubClient, remote: RemoteRevision) -> str | None:
    if remote.file(CARD_FILENAME) is None:
        return None
    data = hub.read_file(remote.repo_type, remote.repo_id, remote.commit, CARD_FILENAME)
    return data.decode("utf-8", errors="replace")


def _missing_from_store(
    store: LocalStore, job: SyncJob, remote: RemoteRevision, wanted: Sequence[RemoteFile]
) -> list[RemoteFile]:
    repo_id = remote.repo_id
    existing = store.get(repo_id, job.revision)
    have: set[tuple[str, str]] = set()
    if existing is not None and existing.manifest.commit == remote.commit:
        have = {(r.path, r.git_sha1) for r in existing.manifest.files}
    index: ContentIndex | None = None
    missing = []
    for remote_file in wanted:
        if (remote_file.path, remote_file.git_sha1) in have:
            continue
        index = index if index is not None else store.content_index(repo_id)
        found = index.find(remote_file.size, sha256=remote_file.lfs_sha256, git_sha1=remote_file.git_sha1)
        if found is None:
            missing.append(remote_file)
    return missing
