"""The local store: complete revision folders, staged localizations, locks and listing.

A localization is built in a hidden staging folder next to its revision folder. Verified files
land there under their final names; the metadata file is written last; then the staging folder
is swapped into place. So a revision folder either has its metadata file and is complete, or
does not exist; a crash leaves only a staging folder, which the next run resumes.
"""

from __future__ import annotations

import functools
import logging
import os
import stat
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from hg_localization.errors import HGLocalizationError, InvalidInputError
from hg_localization.ids import (
    RepoId,
    RepoType,
    parse_repo_id,
    revision_folder,
    revision_from_folder,
    validate_revision,
)
from hg_localization.store.atomic import atomic_write_text, fsync_dir, remove_tree, swap_in
from hg_localization.store.damaged import DamagedRevision
from hg_localization.store.layout import (
    BY_BUCKET_FOLDER,
    LOCKS_FOLDER,
    METADATA_FILENAME,
    StoreLayout,
)
from hg_localization.store.staging import ContentIndex, Staging

if TYPE_CHECKING:  # imported where used: listing from the summary index needs neither (start-up)
    from filelock import FileLock

    from hg_localization.store.manifest import RevisionManifest

logger = logging.getLogger(__name__)
#: How a metadata file's bytes are read (a server's reader never follows a link).
_Reader = Callable[[Path], bytes]


@dataclass(frozen=True)
class StoredRevision:
    """A complete revision folder and what its metadata file says."""

    path: Path
    manifest: RevisionManifest

    @property
    def repo_id(self) -> str:
        return self.manifest.repo_id

    def file_path(self, local_path: str) -> Path:
        return self.path / local_path


class LocalStore:
    """One store root (models or datasets), scoped to a bucket when one is configured."""

    def __init__(self, root: Path, repo_type: RepoType, bucket_id: str | None = None) -> None:
        self.layout = StoreLayout(root=root, repo_type=repo_type, bucket_id=bucket_id)

    @property
    def repo_type(self) -> RepoType:
        return self.layout.repo_type

    @property
    def scope(self) -> str | None:
        """The bucket id this store is scoped to; None for the unscoped store."""
        return self.layout.bucket_id

    # --- reading -----------------------------------------------------------------------------
    # A folder with a metadata file that cannot be trusted is a DamagedRevision: never used as a
    # revision (get, revisions_of, iter_revisions skip it), but listed by scan() and inspect().
    def get(self, repo_id: RepoId, revision: str) -> StoredRevision | None:
        """The complete revision folder for ``repo_id``@``revision``, or None (absent or damaged)."""
        found = self.inspect(repo_id, revision)
        return found if isinstance(found, StoredRevision) else None

    def inspect(self, repo_id: RepoId, revision: str) -> StoredRevision | DamagedRevision | None:
        """The revision folder for ``repo_id``@``revision``, complete or damaged; None when absent."""
        return self._load(self.layout.revision_dir(repo_id, revision), repo_id, revision)

    def revisions_of(self, repo_id: RepoId) -> list[StoredRevision]:
        """Every complete revision of ``repo_id`` (damaged ones skipped)."""
        return [found for found in self.scan_repo(repo_id) if isinstance(found, StoredRevision)]

    def scan_repo(self, repo_id: RepoId) -> Iterator[StoredRevision | DamagedRevision]:
        """Every revision folder of ``repo_id``, complete or damaged, sorted by folder name."""
        for folder in _subfolders(self.layout.repo_dir(repo_id)):
            revision = _revision_named_by(folder)
            if revision is not None:
                found = self._load(folder, repo_id, revision)
                if found is not None:
                    yield found

    def find_by_commit(self, repo_id: RepoId, commit: str) -> StoredRevision | None:
        """A complete revision of ``repo_id`` at ``commit``, preferring the one with most files."""
        matches = [r for r in self.revisions_of(repo_id) if r.manifest.commit == commit]
        return max(matches, key=lambda r: len(r.manifest.files), default=None)

    def iter_revisions(self) -> Iterator[StoredRevision]:
        """Every complete revision in this store (this bucket scope only), sorted by id."""
        for found in self.scan():
            if isinstance(found, StoredRevision):
                yield found

    def scan(self) -> Iterator[StoredRevision | DamagedRevision]:
        """Every revision folder in this store (this bucket scope only), complete or damaged, by id."""
        for repo_id in self.repo_ids():
            yield from self.scan_repo(repo_id)

    def repo_ids(self) -> Iterator[RepoId]:
        """Every repo with a folder in this store (this bucket scope only), by id; none is read."""
        base = self.layout.base
        for namespace_dir in _subfolders(base):
            if namespace_dir.name in (BY_BUCKET_FOLDER, LOCKS_FOLDER) and namespace_dir.parent == base:
                continue
            for repo_dir in _subfolders(namespace_dir):
                try:
                    yield parse_repo_id(
                        repo_dir.name
                        if namespace_dir.name == "_"
                        else f"{namespace_dir.name}/{repo_dir.name}"
                    )
                except HGLocalizationError:
                    continue

    def revision_names(self, repo_id: RepoId) -> list[str]:
        """The revisions of ``repo_id`` whose folder has a metadata file (a regular file, not a link),
        sorted by folder name, without reading it: what a server lists before it loads one."""
        named = ((f, _revision_named_by(f)) for f in _subfolders(self.layout.repo_dir(repo_id)))
        return [name for f, name in named if name is not None and _is_regular(f / METADATA_FILENAME)]

    def read(
        self, repo_id: RepoId, revision: str, read_bytes: _Reader
    ) -> StoredRevision | DamagedRevision | None:
        """:meth:`inspect`, the metadata file read by ``read_bytes`` (a server reads it below its
        root without following a link)."""
        return self._load(self.layout.revision_dir(repo_id, revision), repo_id, revision, read_bytes)

    def _load(
        self, folder: Path, repo_id: RepoId, revision: str, read_bytes: _Reader = Path.read_bytes
    ) -> StoredRevision | DamagedRevision | None:
        """What the folder of ``repo_id``@``revision`` holds: None without a metadata file."""
        manifest, reason = _read_manifest(folder / METADATA_FILENAME, read_bytes)
        if manifest is None and reason is None:
            return None
        if manifest is not None:
            named = (manifest.repo_type, manifest.repo_id, manifest.revision)
            if named == (self.repo_type, str(repo_id), revision):
                return StoredRevision(path=folder, manifest=manifest)
            reason = (
                f"its metadata file describes {manifest.repo_type} '{manifest.repo_id}' at "
                f"'{manifest.revision}', not the folder it is in"
            )
        logger.info("The revision folder %s is damaged: %s", folder, reason)
        return DamagedRevision(
            path=folder, repo_type=self.repo_type, repo_id=str(repo_id), revision=revision, reason=str(reason)
        )

    def content_index(self, repo_id: RepoId) -> ContentIndex:
        """Every verified file of every complete revision of the repo, by content (read once)."""
        index = ContentIndex()
        for stored in self.revisions_of(repo_id):
            for record in stored.manifest.files:
                index.add(stored.file_path(record.local_path), record)
        return index

    # --- writing -----------------------------------------------------------------------------
    def lock(self, repo_id: RepoId, revision: str) -> FileLock:
        """A per-revision lock: a second process (or thread) waits, then finds the work done.

        One instance per lock file in a process, so code that already holds it (a push inside a
        localization) may take it again.
        """
        from filelock import FileLock

        path = self.layout.lock_file(repo_id, revision)
        path.parent.mkdir(parents=True, exist_ok=True)
        return FileLock(str(path), is_singleton=True)

    def open_staging(self, repo_id: RepoId, revision: str) -> Staging:
        """The staging folder for a localization (call under :meth:`lock`).

        Finishes a swap that a crash interrupted, and keeps files a previous attempt verified.
        """
        staging_dir = self.layout.staging_dir(repo_id, revision)
        target = self.layout.revision_dir(repo_id, revision)
        if (staging_dir / METADATA_FILENAME).is_file() and not target.exists():
            os.replace(staging_dir, target)
        _remove_stale_swaps(target)
        return Staging(staging_dir)  # created when the first file lands

    def publish(self, staging: Staging, manifest: RevisionManifest) -> StoredRevision:
        """Write the metadata file last, then swap the staging folder into place."""
        repo_id = parse_repo_id(manifest.repo_id)
        target = self.layout.revision_dir(repo_id, manifest.revision)
        keep = {record.local_path for record in manifest.files} | {METADATA_FILENAME}
        _remove_unlisted(staging.path, keep)
        atomic_write_text(staging.path / METADATA_FILENAME, manifest.to_json())
        replaced = swap_in(staging.path, target)
        fsync_dir(target.parent)
        if replaced is not None:
            remove_tree(replaced)
        return StoredRevision(path=target, manifest=manifest)

    def abandon(self, staging: Staging) -> None:
        """Drop a staging folder and whatever it had."""
        remove_tree(staging.path)
        self.prune_empty_parents(staging.path.parent)

    def tidy(self, staging: Staging) -> None:
        """After a failure: drop the staging folder if nothing in it is worth resuming."""
        if staging.path.is_dir() and not any(p.is_file() for p in staging.path.rglob("*")):
            remove_tree(staging.path)
        self.prune_empty_parents(staging.path.parent)

    def prune_empty_parents(self, folder: Path) -> None:
        """Remove ``folder`` and each parent up to (not including) the store's base while empty."""
        base = self.layout.base
        while folder != base and base in folder.parents:
            try:
                folder.rmdir()
            except OSError:
                return
            folder = folder.parent

    def adopt(self, stored: StoredRevision, manifest: RevisionManifest | None = None) -> StoredRevision:
        """A complete revision of another scope made one of this store's too: its files hard-linked
        (copied across disks), its metadata file the same, or ``manifest`` (some of its files,
        under another revision name). Call under :meth:`lock` of the revision it becomes."""
        manifest = manifest or stored.manifest
        staging = self.open_staging(parse_repo_id(manifest.repo_id), manifest.revision)
        for record in manifest.files:
            if not staging.has(record.local_path):
                staging.adopt(record.local_path, stored.file_path(record.local_path))
        return self.publish(staging, manifest)

    def mark_public(self, stored: StoredRevision) -> None:
        """Record ``public: true`` in the metadata file of ``stored`` (atomically, under its lock).

        Only while the folder still holds the commit that was made public: a localization may
        have replaced it since, and the new commit was not shared.
        """
        manifest = stored.manifest
        repo_id = parse_repo_id(manifest.repo_id)
        with self.lock(repo_id, manifest.revision):
            current = self.get(repo_id, manifest.revision)
            if current is None or current.path != stored.path or current.manifest.commit != manifest.commit:
                return
            updated = current.manifest.replace(public=True)
            atomic_write_text(current.path / METADATA_FILENAME, updated.to_json())

    def remove(self, repo_id: RepoId, revision: str) -> bool:
        target = self.layout.revision_dir(repo_id, revision)
        if not target.exists():
            return False
        doomed = target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:8]}")
        os.replace(target, doomed)
        remove_tree(doomed)
        return True


def store_scopes(root: Path, repo_type: RepoType, configured: str | None) -> list[LocalStore]:
    """Every scope of the store at ``root``, in the order a lookup tries them: the configured
    bucket's, then the unscoped store, then the other buckets' scopes (by folder name).

    Local revisions are the user's whatever the configuration: a bucket configured (or changed)
    later hides none of them.
    """
    others = [f.name for f in _subfolders(root / BY_BUCKET_FOLDER) if f.name != configured]
    order: list[str | None] = [configured] if configured else []
    return [LocalStore(root, repo_type, scope) for scope in [*order, None, *others]]


def _read_manifest(path: Path, read_bytes: _Reader) -> tuple[RevisionManifest | None, str | None]:
    """The metadata file at ``path``, or why it cannot be used; ``(None, None)`` when there is none."""
    from hg_localization.store.manifest import RevisionManifest

    try:
        data = read_bytes(path)
    except (FileNotFoundError, NotADirectoryError):
        return None, None
    except OSError as exc:  # a folder in its place, no permission to read it, an I/O error
        return None, f"its metadata file cannot be read ({exc.strerror or type(exc).__name__})"
    where = "metadata file"
    try:
        return RevisionManifest.from_json(data, where=where), None
    except InvalidInputError as exc:
        detail = exc.message.removeprefix(f"The {where} is not valid: ")
        return None, f"its metadata file is not valid ({detail})"


def _revision_named_by(folder: Path) -> str | None:
    """The revision a folder's name stands for; None for a folder that is not a revision folder."""
    return revision_named(folder.name)


@functools.lru_cache(maxsize=4096)  # a pure function of the name; a store repeats ``main`` a lot
def revision_named(name: str) -> str | None:
    """The revision a revision folder's name stands for; None for a name that is not one."""
    revision = revision_from_folder(name)
    try:
        validate_revision(revision)
    except InvalidInputError:
        return None
    return revision if revision_folder(revision) == name else None


def _is_regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def _subfolders(path: Path) -> list[Path]:
    """The folders in ``path`` (not hidden, not links) by name: one ``scandir``, no ``stat`` each."""
    try:
        with os.scandir(path) as entries:
            names = sorted(
                e.name for e in entries if not e.name.startswith(".") and e.is_dir(follow_symlinks=False)
            )
    except (FileNotFoundError, NotADirectoryError):
        return []
    return [path / name for name in names]


def _remove_unlisted(folder: Path, keep: set[str]) -> None:
    """Delete files a new manifest no longer lists (a branch moved, a partial download)."""
    for path in sorted(folder.rglob("*"), reverse=True):
        relative = path.relative_to(folder).as_posix()
        if path.is_symlink() or path.is_file():
            if relative not in keep:
                path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()


def _remove_stale_swaps(target: Path) -> None:
    for leftover in target.parent.glob(f".{target.name}.old-*"):
        remove_tree(leftover)
