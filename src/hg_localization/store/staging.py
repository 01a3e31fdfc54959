"""A revision being localized (its staging folder) and the store's files found by content.

:class:`Staging` is where a localization writes: verified files under their final names, a file
being fetched under ``<name>.incomplete``; :meth:`LocalStore.publish` swaps the whole folder into
place. :class:`ContentIndex` finds a file the store already holds by size and checksum, so a new
revision links it instead of fetching it again (and hashes it before it counts).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import TYPE_CHECKING

from hg_localization.errors import InvalidInputError
from hg_localization.store.atomic import link_or_copy
from hg_localization.store.layout import PARTIAL_SUFFIX

if TYPE_CHECKING:
    from hg_localization.store.manifest import FileRecord


class ContentIndex:
    """Files already in the store, found by content, so a new revision links them instead of fetching."""

    def __init__(self) -> None:
        self._by_sha256: dict[tuple[int, str], tuple[Path, FileRecord]] = {}
        self._by_git_sha1: dict[tuple[int, str], tuple[Path, FileRecord]] = {}

    def add(self, path: Path, record: FileRecord) -> None:
        if record.sha256:
            self._by_sha256.setdefault((record.size, record.sha256), (path, record))
        if record.git_sha1:
            self._by_git_sha1.setdefault((record.size, record.git_sha1), (path, record))

    def find(
        self, size: int, *, sha256: str | None = None, git_sha1: str | None = None
    ) -> tuple[Path, FileRecord] | None:
        """A stored file with this content: matched on sha256 when it is known, else on the git blob id."""
        if sha256:
            found = self._by_sha256.get((size, sha256))
        else:
            found = self._by_git_sha1.get((size, git_sha1)) if git_sha1 else None
        if found is None:
            return None
        try:
            return found if found[0].stat().st_size == size else None
        except (FileNotFoundError, NotADirectoryError):
            return None


class Staging:
    """A revision being localized: files are written here, then the whole folder is published."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def final_path(self, local_path: str) -> Path:
        return inside(self.path, self.path / local_path)

    def partial_path(self, local_path: str) -> Path:
        return inside(self.path, self.path / f"{local_path}{PARTIAL_SUFFIX}")

    def has(self, local_path: str) -> bool:
        return self.final_path(local_path).is_file()

    def adopt(self, local_path: str, source: Path) -> None:
        """Take an identical, already verified file from elsewhere in the store."""
        link_or_copy(source, self.final_path(local_path))

    def discard(self, local_path: str) -> None:
        for candidate in (self.final_path(local_path), self.partial_path(local_path)):
            with contextlib.suppress(FileNotFoundError):
                candidate.unlink()


def inside(folder: Path, target: Path) -> Path:
    """``target``, once it is known to stay inside ``folder`` (defence in depth: paths are validated
    where they enter, and a symbolic link planted in the folder must not redirect a write)."""
    root = os.path.realpath(folder)
    resolved = os.path.realpath(target)
    if os.path.commonpath([root, resolved]) != root or resolved == root:
        raise InvalidInputError(f"The path '{target}' would leave '{folder}'; it was refused.")
    return target
