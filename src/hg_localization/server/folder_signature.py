"""When a revision of a folder of repos must be walked again (``serve --repos``).

Walking a revision (``os.scandir`` of each folder, a ``stat`` per file, building and sorting
the listing) was most of a request's time at 16 concurrent clients (bench/README.md). Checking
the walk's result instead costs one ``stat`` per folder (adding, removing or renaming a file
changes its folder's mtime) and per file (a file rewritten in place changes its size, mtime or
inode): about a quarter of a walk, and exactly as fresh.
"""

from __future__ import annotations

import os
import stat
import time
from dataclasses import dataclass
from pathlib import Path

from hg_localization.errors import HGLocalizationError
from hg_localization.ids import parse_repo_id, revision_folder
from hg_localization.server import confine
from hg_localization.server.confine import FileStat

_PATHS_CACHE_SIZE = 4096


@dataclass(frozen=True)
class FolderSignature:
    """What a revision of a folder of repos was built from: its files, and its folders' stats."""

    listing: list[FileStat]
    folders: tuple[tuple[str, int, int], ...]
    walked_at: float

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


def folder_stats(folders: list[str], follow_links: bool) -> tuple[tuple[str, int, int], ...]:
    stats = []
    for path in folders:
        try:
            found = os.stat(path) if follow_links else os.lstat(path)
        except OSError:
            return ()  # gone: never equal to a signature taken while it was there
        stats.append((path, found.st_mtime_ns, found.st_ino))
    return tuple(stats)


def check_folder(known: object, folder: Path, follow_links: bool) -> tuple[FolderSignature, bool]:
    """The signature of ``folder`` now, and whether it lists what ``known`` (the cached one) did.

    While ``known`` holds this is one ``stat`` per folder and file, and ``known`` itself comes back.
    """
    now = time.monotonic()
    if isinstance(known, FolderSignature) and known.holds(follow_links):
        return known, True
    folders: list[str] = []
    listing = confine.walk(folder, follow_links=follow_links, folders=folders)
    signature = FolderSignature(listing, folder_stats(folders, follow_links), now)
    return signature, isinstance(known, FolderSignature) and known.listing == listing


class StoreSignatures:
    """What a store revision's answer depends on, in a few ``lstat`` calls (no ``Path`` work per
    call: the paths are worked out once per repo and revision). See :meth:`of`."""

    def __init__(self, settings_name: str, metadata_name: str) -> None:
        self.names = (settings_name, metadata_name)
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
        try:
            repo_path = base.joinpath(*parse_repo_id(repo_id).folder_parts)
        except HGLocalizationError:
            return None
        folder = repo_path / revision_folder(revision)
        folders: list[str] = []
        if below is not None:
            if not folder.is_relative_to(below):
                return None
            current = below
            for part in folder.relative_to(below).parts:
                current = current / part
                folders.append(str(current))
        settings_name, metadata_name = self.names
        return tuple(folders), str(repo_path / settings_name), str(folder / metadata_name)


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
