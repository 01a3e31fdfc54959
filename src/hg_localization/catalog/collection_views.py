"""The team's collections (``hg-localization.yaml``) as this server holds them: each entry present
at a commit, or missing.

``serve --collections FILE`` (default: ``hg-localization.yaml`` in the working directory, when
there is one) gives the catalog a manifest; it is read at start (a mistake stops the server, as
``show-collection`` would say it), then again whenever the file changes (a mistake then is
logged, and the last good manifest kept). The lock beside it (``hg-localization.lock``) says
which commit each entry is pinned to; a page shows whether the server has that commit.

An entry's state comes from the catalog's index (rebuilt at most once per ``ttl``), filtered as
every page is for the visitor: a private repo the visitor may not see is "missing", as it is
everywhere else in the catalog.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, Literal, TypeVar

from hg_localization.catalog.model import RepoEntry, RevisionEntry
from hg_localization.collections.lock import LockFile, read_lock_if_any
from hg_localization.collections.manifest import Collection, CollectionsManifest, Entry, load_manifest
from hg_localization.errors import HGLocalizationError, NotFoundError
from hg_localization.ids import REPO_TYPES, RepoType

logger = logging.getLogger(__name__)

EntryState = Literal["present", "missing"]
#: The repos a visitor may see, of one type, by id (``Catalog.by_id``).
RepoIndex = Callable[[RepoType], dict[str, RepoEntry]]
T = TypeVar("T")


@dataclass(frozen=True)
class EntryView:
    """One entry of a collection, and what this server serves for it (None: missing)."""

    entry: Entry
    revision: RevisionEntry | None
    #: The commit the lock pins the entry to (None: no lock, or locked with another selection).
    locked_commit: str | None = None

    @property
    def state(self) -> EntryState:
        return "present" if self.revision is not None else "missing"

    @property
    def matches_lock(self) -> bool | None:
        """Whether the server's commit is the locked one (None: nothing to compare)."""
        if self.revision is None or self.locked_commit is None:
            return None
        return self.revision.commit == self.locked_commit


@dataclass(frozen=True)
class CollectionView:
    collection: Collection
    entries: tuple[EntryView, ...]

    @property
    def present(self) -> int:
        return sum(1 for e in self.entries if e.revision is not None)

    @property
    def total(self) -> int:
        return len(self.entries)


class _FileCache(Generic[T]):
    """A file parsed again only when it changes (size, mtime, inode); the last good one kept."""

    def __init__(self, path: Path, load: Callable[[Path], T]) -> None:
        self.path = path
        self._load = load
        self._lock = threading.Lock()
        self._signature: tuple[int, int, int] | None = None
        self._value: T | None = None

    def get(self) -> T | None:
        try:
            found = os.stat(self.path)
            signature: tuple[int, int, int] | None = (found.st_mtime_ns, found.st_size, found.st_ino)
        except OSError:
            signature = None
        with self._lock:
            if signature == self._signature:
                return self._value
        try:
            value = self._load(self.path) if signature is not None else None
        except HGLocalizationError as exc:
            logger.warning("Showing %s as last read: %s", self.path, exc.message)
            value = self._value
        with self._lock:
            self._signature, self._value = signature, value
        return value


class CatalogCollections:
    """The collections of one manifest, checked against the catalog for each visitor."""

    def __init__(self, path: Path) -> None:
        self.path = path
        manifest = load_manifest(path)  # refused now, naming the line, rather than on a page
        self._manifest = _FileCache(path, load_manifest)
        self._lock_file = _FileCache(manifest.lock_path, read_lock_if_any)
        self._last = manifest

    def manifest(self) -> CollectionsManifest:
        found = self._manifest.get()
        if found is not None:
            self._last = found
        return self._last

    def views(self, index: RepoIndex) -> list[CollectionView]:
        """Every collection, each entry with its state (``index``: the visible repos of a type by id)."""
        manifest = self.manifest()
        by_type = {repo_type: index(repo_type) for repo_type in REPO_TYPES}
        lock = self._lock_file.get()
        return [_view(collection, by_type, lock) for collection in manifest.collections]

    def view(self, name: str, index: RepoIndex) -> CollectionView:
        """One collection (NotFoundError naming the ones there are)."""
        manifest = self.manifest()
        collection = next((c for c in manifest.collections if c.name == name), None)
        if collection is None:  # not the manifest's own message: it names a path on this machine
            raise NotFoundError(f"There is no collection '{name}' here.", hint="See /collections.")
        by_type = {repo_type: index(repo_type) for repo_type in REPO_TYPES}
        return _view(collection, by_type, self._lock_file.get())


def _view(
    collection: Collection, by_type: dict[RepoType, dict[str, RepoEntry]], lock: LockFile | None
) -> CollectionView:
    entries = []
    for entry in collection.entries:
        locked = lock.find(collection.name, entry) if lock is not None else None
        locked_commit = locked.commit if locked is not None and locked.matches(entry) else None
        repo = by_type[entry.repo_type].get(entry.repo_id)
        entries.append(EntryView(entry, _served(repo, entry.revision), locked_commit))
    return CollectionView(collection, tuple(entries))


def _served(repo: RepoEntry | None, name: str) -> RevisionEntry | None:
    """The revision ``name`` (a branch, tag or commit) as the repo's visible revisions have it."""
    if repo is None:
        return None
    named = next((r for r in repo.revisions if r.name == name), None)
    if named is not None:
        return named
    matches = [r for r in repo.revisions if r.commit == name]
    if not matches:
        return None
    return max(matches, key=lambda r: len(r.files))
