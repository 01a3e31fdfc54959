"""When a revision of a folder of repos must be walked again (``serve --repos``), and when an answer
given before still holds.

Walking a revision (``os.scandir`` of each folder, a ``stat`` per file, building and sorting
the listing) was most of a request's time at 16 concurrent clients (bench/README.md). Checking
the walk's result instead costs one ``stat`` per folder (adding, removing or renaming a file
changes its folder's mtime) and per file (a file rewritten in place changes its size, mtime or
inode): about a quarter of a walk, and exactly as fresh. A source's ``resolve`` does that check
every time (:func:`check_folder`).

That is still O(files) per request, so the Hub API does not do it for each small answer (HEAD or
GET of a file, repo info) of a revision it answered before: :class:`FolderAnswers` gives it a
signature of a few ``lstat`` calls, taken on the event loop, and it answers from memory while the
signature is unchanged. The freshness promise of those answers:

- a file added, removed or renamed, a folder added or removed, a revision folder replaced (a
  commit), ``repo.json`` changed, a revision or repo added or removed, or a folder on the way
  swapped for a link: seen by the next request (each folder's and ``repo.json``'s stat is
  compared on every request, the links on the way checked);
- a file rewritten in place (same folder, same name: no folder's mtime moves): seen within
  :data:`FILE_RECHECK_SECONDS`. The per-file stats are re-checked in a background thread once
  half that time has passed, while answers go on from memory: found unchanged, the answers go on;
  changed (or not checked in time), the next request after :data:`FILE_RECHECK_SECONDS` takes
  the full check. (Checked only when due, every request then queued for the check at once.)
- while a folder's or ``repo.json``'s mtime is less than :data:`RACY_SECONDS` old, every request
  takes the full check: a change in the same clock tick as the last check would not move it.

The bytes of the file asked for are always opened afresh, below the root without following a
link (:mod:`.confine`).
"""

from __future__ import annotations

import os
import stat
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from hg_localization.errors import HGLocalizationError
from hg_localization.ids import is_commit_prefix, parse_repo_id, revision_folder
from hg_localization.server import confine
from hg_localization.server.confine import FileStat
from hg_localization.server.disk_repos import REPO_SETTINGS_FILENAME

_PATHS_CACHE_SIZE = 4096
#: How long the per-file stats a revision's last check found are trusted by answers from memory.
FILE_RECHECK_SECONDS = 1.0
#: How old a folder's mtime must be before an unchanged mtime proves an unchanged folder.
RACY_SECONDS = 1.0


@dataclass(eq=False)
class FolderSignature:
    """What a revision of a folder of repos was built from: its files, and its folders' stats.

    Compared by identity: the same object comes back from :func:`check_folder` while it holds.
    """

    listing: list[FileStat]
    folders: tuple[tuple[str, int, int], ...]
    #: ``time.monotonic()`` of the walk, then of each check that found it unchanged (when it began).
    checked_at: float
    #: A background check (:meth:`refresh`) is under way.
    refreshing: bool = False

    def holds(self, follow_links: bool) -> bool:
        """True while no folder and no file of the revision changed since the walk."""
        if folder_stats([path for path, _, _ in self.folders], follow_links) != self.folders:
            return False
        stat = os.stat if follow_links else os.lstat
        try:
            for _, path, size, mtime_ns, inode in self.listing:
                found = stat(path)
                if found.st_size != size or found.st_mtime_ns != mtime_ns or found.st_ino != inode:
                    return False
        except OSError:
            return False
        return True

    def refresh(self, follow_links: bool) -> None:
        """Check again in a background thread (one at a time): found unchanged, ``checked_at``
        moves to when the check began; else it stays, and the answers from memory stop when due."""
        if self.refreshing:
            return
        self.refreshing = True

        def check() -> None:
            began = time.monotonic()
            try:
                if self.holds(follow_links):
                    self.checked_at = max(self.checked_at, began)
            finally:
                self.refreshing = False

        threading.Thread(target=check, name="hgloc-folder-recheck", daemon=True).start()


def folder_stats(
    folders: list[str], follow_links: bool, seen: dict[str, os.stat_result] | None = None
) -> tuple[tuple[str, int, int], ...]:
    """(path, mtime, inode) of each folder; ``seen``: stats taken a moment ago, used as they are."""
    stats = []
    for path in folders:
        found = seen.get(path) if seen else None
        if found is None:
            try:
                found = os.stat(path) if follow_links else os.lstat(path)
            except OSError:
                return ()  # gone: never equal to a signature taken while it was there
        stats.append((path, found.st_mtime_ns, found.st_ino))
    return tuple(stats)


def check_folder(
    known: object, folder: Path, follow_links: bool, *, since: float | None = None
) -> tuple[FolderSignature, bool]:
    """The signature of ``folder`` now, and whether it lists what ``known`` (the cached one) did.

    While ``known`` holds this is one ``stat`` per folder and file, and ``known`` itself comes back.
    A check of ``known`` that began at ``since`` or later (``time.monotonic()``; another request's,
    made while this one waited for it) is as fresh as a new one: ``known`` comes back unchecked.
    """
    now = time.monotonic()
    if isinstance(known, FolderSignature):
        if since is not None and known.checked_at >= since:
            return known, True
        if known.holds(follow_links):
            known.checked_at = now
            return known, True
    folders: list[str] = []
    listing = confine.walk(folder, follow_links=follow_links, folders=folders)
    signature = FolderSignature(listing, folder_stats(folders, follow_links), now)
    return signature, isinstance(known, FolderSignature) and known.listing == listing


class FolderAnswers:
    """Signatures of the answers a folder of repos gave, cheap enough for the event loop (see the
    module's freshness promise). The source registers each revision folder's latest walk."""

    def __init__(self, follow_links: bool) -> None:
        self.follow_links = follow_links
        self._walked: dict[str, FolderSignature] = {}
        self._paths: dict[tuple[str, str, str], tuple[tuple[str, ...], str, str, str] | None] = {}

    def walked(self, folder: Path, signature: FolderSignature) -> None:
        """``folder`` (a revision folder) was last checked, or walked, into ``signature``."""
        if self._walked.get(str(folder)) is not signature:
            if len(self._walked) >= _PATHS_CACHE_SIZE:
                self._walked.clear()
            self._walked[str(folder)] = signature

    def signature(self, root: Path, below: Path | None, repo_id: str, revision: str) -> object | None:
        """Equal between two calls only if the repo (its revisions and settings) and the revision
        folder's last walk are unchanged, as the module says; None: take the full check."""
        if is_commit_prefix(revision):
            return None  # a commit id is looked up among every revision
        key = (str(root), repo_id, revision)
        try:
            paths = self._paths[key]
        except KeyError:
            if len(self._paths) >= _PATHS_CACHE_SIZE:
                self._paths.clear()
            paths = self._paths[key] = _repo_paths(root, below, repo_id, revision)
        if paths is None:
            return None
        links, repo_dir, settings_path, folder = paths
        known = self._walked.get(folder)
        age = time.monotonic() - known.checked_at if known is not None else FILE_RECHECK_SECONDS
        if known is None or age >= FILE_RECHECK_SECONDS:
            return None
        seen: dict[str, os.stat_result] = {}  # each path is stat'ed once (the repo's, the revision's)
        try:
            for path in links:  # from the root down: none may be a link
                seen[path] = found = os.lstat(path)
                if stat.S_ISLNK(found.st_mode):
                    return None
            repo = seen.get(repo_dir) or (os.stat if self.follow_links else os.lstat)(repo_dir)
        except OSError:
            return None  # gone: the full check says what
        try:
            found = os.lstat(settings_path)
            settings: tuple[int, ...] = (found.st_mode, found.st_mtime_ns, found.st_size, found.st_ino)
        except FileNotFoundError:
            settings = ()
        except OSError:
            return None
        folders = folder_stats([path for path, _, _ in known.folders], self.follow_links, seen)
        if folders != known.folders:
            return None
        newest = max(repo.st_mtime_ns, settings[1] if settings else 0, *(m for _, m, _ in folders))
        if time.time_ns() - newest < RACY_SECONDS * 1e9:
            return None
        if age >= FILE_RECHECK_SECONDS / 2:  # checked again before it is due: answers never wait for it
            known.refresh(self.follow_links)
        return repo.st_mtime_ns, repo.st_ino, settings, known


def _repo_paths(
    root: Path, below: Path | None, repo_id: str, revision: str
) -> tuple[tuple[str, ...], str, str, str] | None:
    """The folders from ``below`` down to the revision folder (checked for links), the repo folder,
    its settings file and the revision folder; None for an id or revision that names none."""
    try:
        repo_path = root.joinpath(*parse_repo_id(repo_id).folder_parts)
        folder = repo_path / revision_folder(revision)
    except HGLocalizationError:
        return None
    links: list[str] = []
    if below is not None:
        if not folder.is_relative_to(below):
            return None
        current = below
        for part in folder.relative_to(below).parts:
            current = current / part
            links.append(str(current))
    return tuple(links), str(repo_path), str(repo_path / REPO_SETTINGS_FILENAME), str(folder)


class StoreSignatures:
    """What a store revision's answer depends on, in a few ``lstat`` calls (no ``Path`` work per
    call: the paths are worked out once per repo and revision). See :meth:`of`."""

    def __init__(self, metadata_name: str) -> None:
        self.metadata_name = metadata_name
        self._paths: dict[tuple[str, str, str, str], tuple[tuple[str, ...], str, str] | None] = {}

    def of(
        self, base: Path, below: Path | None, repo_type: str, repo_id: str, revision: str
    ) -> object | None:
        """The stats of the repo's settings file (private, default branch) and of the revision's
        metadata file, if no folder from ``below`` down to the revision is a link; None when the
        revision cannot be served as it is (the caller then takes the full path, which says why)."""
        key = (str(base), repo_type, repo_id, revision)
        try:
            paths = self._paths[key]
        except KeyError:
            if len(self._paths) >= _PATHS_CACHE_SIZE:
                self._paths.clear()
            paths = self._paths[key] = self._locate(base, below, repo_id, revision)
        if paths is None:
            return None
        folders, settings_path, metadata_path = paths
        try:
            for folder in folders:
                if stat.S_ISLNK(os.lstat(folder).st_mode):
                    return None
            manifest = os.lstat(metadata_path)
        except OSError:
            return None
        if not stat.S_ISREG(manifest.st_mode):
            return None
        try:
            found = os.lstat(settings_path)
            settings: tuple[int, ...] = (found.st_mode, found.st_mtime_ns, found.st_size, found.st_ino)
        except OSError:
            settings = ()
        return metadata_path, settings, (manifest.st_mtime_ns, manifest.st_size, manifest.st_ino)

    def _locate(
        self, base: Path, below: Path | None, repo_id: str, revision: str
    ) -> tuple[tuple[str, ...], str, str] | None:
        paths = _repo_paths(base, below, repo_id, revision)
        if paths is None:
            return None
        links, _, settings_path, folder = paths
        return links, settings_path, os.path.join(folder, self.metadata_name)


def subdirs(path: Path | None, follow_links: bool) -> list[Path]:
    """The visible sub-folders of ``path``, sorted; folders that are links only with ``follow_links``."""
    if path is None:
        return []
    try:
        entries = sorted(path.iterdir())
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        return []
    visible = (e for e in entries if not e.name.startswith("."))
    return [e for e in visible if e.is_dir() and (follow_links or not e.is_symlink())]
