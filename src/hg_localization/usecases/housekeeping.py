"""Store management: remove a local copy, withdraw or delete a bucket copy, prune what is left over.

- :func:`plan_removal` / :func:`remove_local`: a repo's revision folders (one revision, or every
  one), in every scope of the store, each under its revision's lock.
- :func:`remove_from_bucket` and :func:`unpublish`: the bucket's copy of a revision (see
  :mod:`hg_localization.s3.withdraw` for the order that keeps readers safe).
- :func:`plan_prune` / :func:`prune`: what nothing needs any more, as ``hf cache`` prunes it:

  * revisions no branch points to any more: a folder named by a commit id that no branch or
    tag folder of the same repo holds (e.g. ``-r 1ad91e4…`` once, while ``main`` moved on);
  * staging folders a crash left behind (``.<revision>.staging``, ``.<revision>.old-*``), when
    no run holds the revision's lock (a run under way is never touched);
  * ``by_bucket/<id>`` scopes that hold no revision (what a mistyped bucket name leaves).

Plans are pure lists of :class:`Removal`; nothing is deleted until they are applied.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from filelock import FileLock, Timeout

from hg_localization.config import HGLocalizationConfig
from hg_localization.errors import HGLocalizationError, NotLocalizedError
from hg_localization.ids import RepoId, RepoType, is_commit_sha, parse_repo_id, revision_from_folder
from hg_localization.store.atomic import atomic_write_text, remove_tree
from hg_localization.store.damaged import DamagedRevision
from hg_localization.store.layout import BY_BUCKET_FOLDER, LOCKS_FOLDER, METADATA_FILENAME, STAGING_SUFFIX
from hg_localization.store.local_store import LocalStore, StoredRevision
from hg_localization.usecases.repos import local_stores

Kind = Literal["revision", "detached", "staging", "empty scope"]


@dataclass(frozen=True)
class Removal:
    """One folder to delete: what it is, for messages, and how much space it frees."""

    kind: Kind
    path: Path
    size: int
    label: str
    scope: str | None = None
    repo_id: str | None = None
    revision: str | None = None


def folder_size(path: Path) -> int:
    """The bytes of every file under ``path`` (links not followed; a file linked twice counts once)."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for folder, _dirs, files in os.walk(path):
        for name in files:
            try:
                stat = os.lstat(os.path.join(folder, name))
            except OSError:
                continue
            if (stat.st_dev, stat.st_ino) not in seen:
                seen.add((stat.st_dev, stat.st_ino))
                total += stat.st_size
    return total


# --- removing a local copy ------------------------------------------------------------------------


def plan_removal(
    config: HGLocalizationConfig, repo_type: RepoType, repo_id: str, revision: str | None = None
) -> list[Removal]:
    """The revision folders of ``repo_id`` (only ``revision``, when given) in every scope, damaged
    ones too."""
    parsed = parse_repo_id(repo_id)
    found = [
        Removal(
            "revision",
            item.path,
            folder_size(item.path),
            f"{repo_id} ({item.revision if isinstance(item, DamagedRevision) else item.manifest.revision})",
            scope=store.layout.bucket_id,
            repo_id=str(parsed),
            revision=item.revision if isinstance(item, DamagedRevision) else item.manifest.revision,
        )
        for store in local_stores(config, repo_type)
        for item in store.scan_repo(parsed)
    ]
    chosen = [r for r in found if revision is None or r.revision == revision]
    if not chosen:
        raise NotLocalizedError(str(parsed), revision, repo_type)
    return chosen


def remove_local(config: HGLocalizationConfig, repo_type: RepoType, removals: list[Removal]) -> int:
    """Delete the planned revision folders, each under its lock; the bytes freed."""
    freed = 0
    by_scope = {store.layout.bucket_id: store for store in local_stores(config, repo_type)}
    for removal in removals:
        store = by_scope.get(removal.scope)
        if store is None or removal.repo_id is None or removal.revision is None:
            continue
        repo_id = parse_repo_id(removal.repo_id)
        with store.lock(repo_id, removal.revision):
            if store.remove(repo_id, removal.revision):
                freed += removal.size
        store.prune_empty_parents(store.layout.repo_dir(repo_id))
    return freed


def mark_private_locally(
    config: HGLocalizationConfig, repo_type: RepoType, repo_id: RepoId, revision: str
) -> int:
    """Record ``public: false`` in every local copy of the revision (after an unpublish); how many."""
    changed = 0
    for store in local_stores(config, repo_type):
        with store.lock(repo_id, revision):
            current = store.get(repo_id, revision)
            if current is not None and current.manifest.public:
                updated = current.manifest.replace(public=False)
                atomic_write_text(current.path / METADATA_FILENAME, updated.to_json())
                changed += 1
    return changed


# --- pruning --------------------------------------------------------------------------------------


def plan_prune(config: HGLocalizationConfig) -> list[Removal]:
    """Everything :func:`prune` would delete, in both stores (models, then datasets)."""
    plan: list[Removal] = []
    for repo_type in ("model", "dataset"):
        stores = local_stores(config, repo_type)
        for store in stores:
            plan += _detached(store)
            plan += _leftover_staging(store)
        root = config.models_store_path if repo_type == "model" else config.datasets_store_path
        plan += _empty_scopes(root, stores)
    return plan


def prune(config: HGLocalizationConfig, plan: list[Removal]) -> int:
    """Delete what :func:`plan_prune` found (staging folders only while still unlocked); bytes freed."""
    freed = 0
    for removal in plan:
        if not removal.path.exists():
            continue
        remove_tree(removal.path)
        if not removal.path.exists():
            freed += removal.size
    return freed


def _detached(store: LocalStore) -> Iterator[Removal]:
    for repo_id in _repo_ids(store):
        revisions = store.revisions_of(repo_id)
        held = {r.manifest.commit for r in revisions if not is_commit_sha(r.manifest.revision)}
        for stored in revisions:
            if is_commit_sha(stored.manifest.revision) and stored.manifest.commit not in held:
                yield _revision_removal(store, stored, "detached")


def _revision_removal(store: LocalStore, stored: StoredRevision, kind: Kind) -> Removal:
    manifest = stored.manifest
    return Removal(
        kind,
        stored.path,
        folder_size(stored.path),
        f"{manifest.repo_id} ({manifest.revision[:12]}: no branch or tag points to it)",
        scope=store.layout.bucket_id,
        repo_id=manifest.repo_id,
        revision=manifest.revision,
    )


def _leftover_staging(store: LocalStore) -> Iterator[Removal]:
    for repo_id in _repo_ids(store):
        repo_dir = store.layout.repo_dir(repo_id)
        for entry in sorted(repo_dir.iterdir()):
            revision = _staged_revision(entry.name)
            if revision is None or not entry.is_dir() or entry.is_symlink():
                continue
            if _locked(store, repo_id, revision):
                continue  # a run is filling it now
            yield Removal(
                "staging",
                entry,
                folder_size(entry),
                f"{repo_id} ({revision}: left by an interrupted run)",
                scope=store.layout.bucket_id,
                repo_id=str(repo_id),
                revision=revision,
            )


def _staged_revision(name: str) -> str | None:
    """The revision a leftover folder is for: ``.<rev>.staging`` or ``.<rev>.old-<id>``; else None."""
    if not name.startswith("."):
        return None
    if name.endswith(STAGING_SUFFIX):
        return revision_from_folder(name[1 : -len(STAGING_SUFFIX)])
    stem, marker, _ = name[1:].rpartition(".old-")
    return revision_from_folder(stem) if marker and stem else None


def _locked(store: LocalStore, repo_id: RepoId, revision: str) -> bool:
    lock = FileLock(str(store.layout.lock_file(repo_id, revision)), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        return True
    except OSError:
        return False
    lock.release()
    return False


def _empty_scopes(root: Path, stores: list[LocalStore]) -> Iterator[Removal]:
    for store in stores:
        scope = store.layout.bucket_id
        base = store.layout.base
        if scope is None or not base.is_dir() or _holds_files(base):
            continue
        yield Removal(
            "empty scope",
            base,
            0,
            f"{root / BY_BUCKET_FOLDER / scope} (holds no revision: a bucket name used once, or mistyped)",
            scope=scope,
        )


def _holds_files(base: Path) -> bool:
    """True when any file is under ``base`` outside its lock folder."""
    for folder, dirs, files in os.walk(base):
        if Path(folder) == base and LOCKS_FOLDER in dirs:
            dirs.remove(LOCKS_FOLDER)
        if files:
            return True
    return False


def _repo_ids(store: LocalStore) -> Iterator[RepoId]:
    base = store.layout.base
    for namespace_dir in _folders(base):
        if namespace_dir.name in (BY_BUCKET_FOLDER,) or namespace_dir.name.startswith("."):
            continue
        for repo_dir in _folders(namespace_dir):
            if repo_dir.name.startswith("."):
                continue
            name = repo_dir.name if namespace_dir.name == "_" else f"{namespace_dir.name}/{repo_dir.name}"
            parsed = _repo_id_or_none(name)
            if parsed is not None:
                yield parsed


def _repo_id_or_none(name: str) -> RepoId | None:
    """The repo id a folder stands for; None for a folder that is no repo id (not ours to judge)."""
    try:
        return parse_repo_id(name)
    except HGLocalizationError:
        return None


def _folders(path: Path) -> list[Path]:
    try:
        return sorted(p for p in path.iterdir() if p.is_dir() and not p.is_symlink())
    except (FileNotFoundError, NotADirectoryError):
        return []
