"""Reading back what a localization put in a store folder."""

from __future__ import annotations

from pathlib import Path

from hg_localization.store.layout import METADATA_FILENAME
from hg_localization.store.manifest import RevisionManifest


def stored_files(folder: Path) -> dict[str, bytes]:
    """Every file of a stored revision, by path, without its metadata file."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != METADATA_FILENAME
    }


def manifest_of(folder: Path) -> RevisionManifest:
    """The metadata file of a stored revision."""
    return RevisionManifest.from_json((folder / METADATA_FILENAME).read_text())
