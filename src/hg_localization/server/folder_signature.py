"""When a revision of a folder of repos must be walked again (``serve --repos``).

Walking a revision (``os.scandir`` of each folder, a ``stat`` per file, building and sorting
the listing) was most of a request's time at 16 concurrent clients (bench/README.md). Checking
the walk's result instead costs one ``stat`` per folder (adding, removing or renaming a file
changes its folder's mtime) and per file (a file rewritten in place changes its size, mtime or
inode): about a quarter of a walk, and exactly as fresh.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from hg_localization.server import confine
from hg_localization.server.confine import FileStat


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
